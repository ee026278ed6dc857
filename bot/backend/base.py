"""The connection backend: one interface, two adapters (embedded local node, real node)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

# An Exalate instance's short name, as the console takes it (the wizard asks for both sides'
# and the settings check EXALATE_LOCAL_INSTANCE against it)
SHORT_NAME_MAX = 40
# Exalate's connection modes, as its console names them
MODES = {"basic": "Basic", "visual": "Visual", "script": "Script"}
# what Basic mode's fixed rules sync (Exalate's "Set up a connection in Basic mode")
BASIC_RULES = ("summary", "description", "comments", "attachments", "issue types")
SHORT_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Project:
    key: str
    name: str


@dataclass(frozen=True)
class ProjectPage:
    projects: list[Project]
    total: int  # how many match, which may be more than were returned
    complete: bool = True  # False when the backend may have more than it said


@dataclass(frozen=True)
class ConnectionSpec:
    """What the wizard decided: enough for a node to create a Pending connection."""

    team_id: str
    name: str
    destination: str
    destination_url: str | None
    mode: str
    local_short_name: str
    remote_short_name: str
    description: str
    project_key: str
    partner_user_id: str
    partner_team_id: str


@dataclass(frozen=True)
class ConnectionRef:
    """How the bot knows a connection on the backend: the backend's id, and the name."""

    backend_id: str | None
    name: str

    @property
    def key(self) -> str:
        return self.backend_id or self.name


@dataclass(frozen=True)
class Reported:
    """What the node says of one connection: its status as it gives it (PENDING, ACTIVE,
    DEACTIVATED, or anything else), and the id it knows it by (found by name the first
    time, when the bot had none yet)."""

    status: str
    backend_id: str | None = None


@dataclass(frozen=True)
class Initiated:
    backend_id: str
    code: str = field(repr=False)  # a secret: never in a repr, a log line or an error


class BackendError(Exception):
    """The backend could not do it; the message is safe to show the admin (no secrets)."""


class NotSupported(BackendError):
    """This backend does not offer that operation (e.g. a node without an initiate API)."""


class CodeRejected(BackendError):
    """The node refused an invitation code; `reason` says why, without the code."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invitation code rejected: {reason}")
        self.reason = reason  # "unknown" | "used" | "other_partner" | "revoked"


class ConnectionBackend(ABC):
    kind: str
    can_initiate = True  # creates connections and codes itself (else: the admin pastes one)
    can_redeem = True  # accepts codes on the partner's behalf (else: in their console)
    console_url: str | None = None  # where an admin manages connections by hand

    @abstractmethod
    async def instance_name(self) -> str:
        """This side's instance short name, to prefill the wizard."""

    @abstractmethod
    async def search_projects(self, query: str = "", *, limit: int = 100) -> ProjectPage:
        """Projects for incoming sync whose key or name contains `query`."""

    @abstractmethod
    async def initiate(self, spec: ConnectionSpec) -> Initiated:
        """Create a Pending connection and its invitation code."""

    async def attach(self, spec: ConnectionSpec, code: str) -> Initiated:
        """Take a connection the admin created by hand, with the code it was given."""
        raise NotSupported("this backend creates its connections itself")

    @abstractmethod
    async def statuses(self, refs: list[ConnectionRef]) -> dict[str, str]:
        """Each connection's status on the node (PENDING, ACTIVE, DEACTIVATED, …), keyed by
        `ref.key`; a connection the node no longer has is left out."""

    async def reports(self, refs: list[ConnectionRef]) -> dict[str, Reported]:
        """`statuses`, with the id each connection is known by on the node (by default the
        bot's own: a backend that always gave one)."""
        statuses = await self.statuses(refs)
        ids = {ref.key: ref.backend_id for ref in refs}
        return {key: Reported(status, ids.get(key)) for key, status in statuses.items()}

    async def redeem(self, backend_id: str, code: str, *, partner_user_id: str) -> None:
        """Accept an invitation code on the partner's behalf (the embedded node only)."""
        raise NotSupported("the partner accepts the invitation in their Exalate console")

    async def revoke(self, backend_id: str) -> None:
        """Make the connection's code stop working."""
        raise NotSupported("delete or deactivate the connection in the Exalate console")

    async def revoke_many(self, backend_ids: list[str]) -> None:
        """Make these connections' codes stop working (by default one by one)."""
        for backend_id in backend_ids:
            await self.revoke(backend_id)

    async def reissue(self, backend_id: str) -> Initiated:
        """A fresh invitation code for the same Pending connection (the old one stops)."""
        raise NotSupported("create a new invitation in the Exalate console")

    async def initiate_without_code(self, spec: ConnectionSpec) -> str:
        """Create a Pending connection that needs no invitation code (Visual mode; Basic mode
        with admin access to the destination): the admin accepts it on the destination
        themselves. Its backend id."""
        raise NotSupported("create the connection in the Exalate console")

    async def accepted_on_destination(self, backend_id: str) -> None:
        """The admin says they accepted a connection without a code on the destination (the
        embedded node only: a real node sees it and reports it Active)."""
        raise NotSupported("the node reports the connection Active once it is accepted")

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""


def parse_projects(text: str) -> list[Project]:
    """`SUP=Support,DEV=Development` (a bare `KEY` is its own name)."""
    projects: list[Project] = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, _, name = item.partition("=")
        key, name = key.strip(), name.strip() or key.strip()
        printable = key.isprintable() and name.isprintable()  # no control characters
        if not key or not printable or len(key) > 150 or len(name) > 255:  # Slack: values <= 150
            raise ValueError(f"{item!r} is not a KEY=Name pair")
        projects.append(Project(key=key, name=name))
    if not projects:
        raise ValueError("no projects given")
    if len({p.key for p in projects}) != len(projects):
        raise ValueError("a project key is listed twice")
    return projects
