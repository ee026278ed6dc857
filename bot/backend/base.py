"""The connection backend: one interface, two adapters (embedded local node, real node)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Project:
    key: str
    name: str


@dataclass(frozen=True)
class ProjectPage:
    projects: list[Project]
    total: int  # how many match, which may be more than were returned


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
class Initiated:
    backend_id: str
    code: str = field(repr=False)  # a secret: never in a repr, a log line or an error


class BackendError(Exception):
    """The backend could not do it; the message is safe to show the admin (no secrets)."""


class ConnectionBackend(ABC):
    kind: str

    @abstractmethod
    async def instance_name(self) -> str:
        """This side's instance short name, to prefill the wizard."""

    @abstractmethod
    async def search_projects(self, query: str = "", *, limit: int = 100) -> ProjectPage:
        """Projects for incoming sync whose key or name contains `query`."""

    @abstractmethod
    async def initiate(self, spec: ConnectionSpec) -> Initiated:
        """Create a Pending connection and its invitation code."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default has nothing to release."""
