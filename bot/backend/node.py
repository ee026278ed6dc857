"""A client for a real Exalate node's REST API 4.0 (`/rest/issuehub/4.0/…`).

What the node offers publicly: authenticate (a JWT, `exp` in milliseconds), the list of
connections with their status, and the project search of the connection wizard. It has no
public API that creates a connection or its invitation code: the admin creates it in the
Exalate console and pastes the code into the bot, which checks that a Pending connection of
that name exists (and, for a public destination, that it connects to the URL the wizard was
given, when the node says) before it delivers the code (`attach`). From then on the bot
follows the connection by the node's id, so a rename in the console loses nothing.

The API has no public reference, so its answers are read taking nothing on trust
(`node_answers.py`) and its paging is not relied on (`connections`).

One shared aiohttp session; a timeout on every request; reads retried with backoff on
connection errors, timeouts and 5xx; a 401 re-authenticates once (with user and password).
Errors become BackendError with a message for the admin, never with a token or a password.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import jwt
from pydantic import SecretStr

from bot.backend import node_answers as answers
from bot.backend.base import (
    BackendError,
    ConnectionBackend,
    ConnectionRef,
    ConnectionSpec,
    Initiated,
    NotSupported,
    ProjectPage,
    Reported,
)
from bot.backend.node_answers import NodeConnection

log = logging.getLogger(__name__)

API = "/rest/issuehub/4.0/"
PAGE_SIZE = 50
SEARCH_CAP = 50  # the node's project search returns at most this many
MAX_PAGES = 200
RETRY_DELAYS = (0.2, 0.8)  # a read is tried up to three times
RENEW_BEFORE = 60.0  # seconds before a JWT's expiry when it is renewed
KNOWN_STATUSES = frozenset({"PENDING", "ACTIVE", "DEACTIVATED"})

_T = TypeVar("_T")


class NodeRefused(BackendError):
    """The node said no to this request (not a failure of the node)."""


class ExalateNode(ConnectionBackend):
    kind = "node"
    can_initiate = False
    can_redeem = False

    def __init__(
        self,
        *,
        base_url: str,
        instance: str,
        token: SecretStr | None = None,
        user: str | None = None,
        password: SecretStr | None = None,
        timeout: float = 10.0,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._host = urlsplit(self.base_url).netloc or self.base_url
        self._instance = instance
        self._static = token
        self._user, self._password = user, password
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._sleep, self._now = sleep, wall_clock
        self._session: aiohttp.ClientSession | None = None
        self._jwt: SecretStr | None = None
        self._jwt_expires: float | None = None
        self._auth_lock = asyncio.Lock()
        self._noted: set[str] = set()

    @property
    def console_url(self) -> str:
        return self.base_url

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers={"Content-Type": "application/json"}
            )
        return self._session

    # --- authentication -----------------------------------------------------------------

    async def _token(self, *, renew: bool = False) -> str:
        if self._password is None or not self._user:
            assert self._static is not None
            return self._static.get_secret_value()
        async with self._auth_lock:
            fresh = (
                self._jwt is not None
                and self._jwt_expires is not None
                and self._jwt_expires - self._now() > RENEW_BEFORE
            )
            if renew or not fresh:
                await self._authenticate()
            assert self._jwt is not None
            return self._jwt.get_secret_value()

    async def _authenticate(self) -> None:
        assert self._password is not None
        body = {
            "authProtocol": "basic",
            "user": self._user,
            "password": self._password.get_secret_value(),
        }
        try:
            async with self._http().post(self._url("authenticate"), json=body) as response:
                if response.status in (401, 403):
                    raise NodeRefused(
                        f"The Exalate node at {self._host} refused the bot's user and password "
                        f"(HTTP {response.status}): check EXALATE_NODE_USER and "
                        "EXALATE_NODE_PASSWORD."
                    )
                if response.status != 200:
                    raise BackendError(
                        f"The Exalate node at {self._host} failed to authenticate the bot "
                        f"(HTTP {response.status})."
                    )
                token = response.headers.get("X-Exalate-Jwt") or _token_from_body(
                    await response.text()
                )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise self._unreachable(exc) from None
        if not token:
            raise BackendError(f"The Exalate node at {self._host} sent no token when asked.")
        self._jwt, self._jwt_expires = SecretStr(token), _expiry(token)

    # --- requests -----------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return f"{self.base_url}{API}{path}"

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        """A read: retried on connection errors, timeouts and 5xx; a 401 renews the JWT."""
        renewed = renew = False
        for attempt in range(len(RETRY_DELAYS) + 1):
            try:
                token = await self._token(renew=renew)
                renew = False
                headers = {"X-exalate-jwt": token}
                async with self._http().get(
                    self._url(path), params=params, headers=headers
                ) as response:
                    if response.status == 401 and not renewed and self._password is not None:
                        renewed = renew = True  # the JWT expired early: one fresh login
                        continue
                    if response.status in (401, 403):
                        raise NodeRefused(self._refused(response.status))
                    if response.status >= 500:
                        raise _Retry(f"HTTP {response.status}")
                    if response.status != 200:
                        raise BackendError(
                            f"The Exalate node at {self._host} answered HTTP {response.status} "
                            f"to {path}."
                        )
                    try:
                        return await response.json(content_type=None)
                    except ValueError:
                        raise BackendError(
                            f"The Exalate node at {self._host} answered something that is not "
                            f"JSON to {path}."
                        ) from None
            except (aiohttp.ClientError, TimeoutError, _Retry) as exc:
                if attempt == len(RETRY_DELAYS):
                    raise self._unreachable(exc) from None
                await self._sleep(RETRY_DELAYS[attempt])
        raise NodeRefused(self._refused(401))

    def _refused(self, status: int) -> str:
        what = "EXALATE_NODE_TOKEN" if self._password is None else "EXALATE_NODE_USER/PASSWORD"
        return (
            f"The Exalate node at {self._host} refused the bot's credentials (HTTP {status}): "
            f"check {what}."
        )

    def _unreachable(self, exc: BaseException) -> BackendError:
        if isinstance(exc, TimeoutError):
            seconds = self._timeout.total or 0
            return BackendError(
                f"The Exalate node at {self._host} did not answer within {seconds:g}s."
            )
        if isinstance(exc, _Retry):
            return BackendError(f"The Exalate node at {self._host} is failing ({exc}).")
        return BackendError(f"The Exalate node at {self._host} is not reachable.")

    def _note_once(self, key: str, message: str, *args: object) -> None:
        if key not in self._noted:
            self._noted.add(key)
            log.warning(message, *args)

    # --- the interface ------------------------------------------------------------------

    async def instance_name(self) -> str:
        return self._instance

    async def search_projects(self, query: str = "", *, limit: int = 100) -> ProjectPage:
        data = await self._get("scopeparams/search", {"project": query})
        found, total, answered = self._read(answers.projects, data, "the project search")
        if total is not None:
            return ProjectPage(found[:limit], max(total, len(found)))
        # no total: a full page may mean more projects than the node returned
        return ProjectPage(found[:limit], len(found), complete=answered < SEARCH_CAP)

    def _read(self, reader: Callable[[Any], _T], data: Any, what: str) -> _T:
        """`reader(data)`, or one line for the admin when the answer is not what it reads."""
        try:
            return reader(data)
        except answers.Malformed as exc:
            raise BackendError(
                f"The Exalate node at {self._host} answered {what} in an unexpected shape: {exc}."
            ) from None

    async def connections(self) -> list[NodeConnection]:
        """Every connection on the node, once each (by id), page by page (`start`, `limit`).

        Nothing about the paging is trusted: it ends on an empty page, on a page that adds
        no connection not seen already (a node that ignores `start`, or that answers a page
        past the end with the last one again), on a page longer than asked (a node that
        ignores `limit` has sent all it has), when `total` is reached if the node gives one,
        or on a short page: shorter than asked and than the pages before it (a node that
        caps `limit` below the bot's sends short pages all along). MAX_PAGES at most."""
        found: dict[str, NodeConnection] = {}
        start, longest = 0, 0
        for _ in range(MAX_PAGES):
            data = await self._get("connections", {"start": str(start), "limit": str(PAGE_SIZE)})
            page, total = self._read(answers.connection_page, data, "the connection list")
            new = [c for c in page if c.id not in found]
            for connection in new:
                found.setdefault(connection.id, connection)
                self._note_status(connection.status)
            if not new or len(page) > PAGE_SIZE:
                return list(found.values())
            if total is not None and len(found) >= total:
                return list(found.values())
            if total is None and len(page) < min(PAGE_SIZE, longest):
                return list(found.values())
            start, longest = start + len(page), max(longest, len(page))
        raise BackendError(
            f"The Exalate node at {self._host} lists more connections than expected."
        )

    def _note_status(self, status: str) -> None:
        if status not in KNOWN_STATUSES:
            self._note_once(f"status:{status}", "the node reports an unknown status %r", status)

    async def reports(self, refs: list[ConnectionRef]) -> dict[str, Reported]:
        """By the node's id; by name only for a connection whose id the bot doesn't know yet
        (then with the id found, for the bot to keep). A connection the node no longer
        lists is left out, which the poll reports as removed."""
        listed = await self.connections()
        by_id = {c.id: c for c in listed}
        by_name: dict[str, NodeConnection] = {}
        for connection in listed:
            by_name.setdefault(connection.name.lower(), connection)
        result: dict[str, Reported] = {}
        for ref in refs:
            known = ref.backend_id
            found = by_id.get(known) if known else by_name.get(ref.name.lower())
            if found is not None:
                result[ref.key] = Reported(found.status, found.id)
        return result

    async def statuses(self, refs: list[ConnectionRef]) -> dict[str, str]:
        return {key: r.status for key, r in (await self.reports(refs)).items()}

    async def find(self, name: str) -> NodeConnection | None:
        for connection in await self.connections():
            if connection.name.lower() == name.lower():
                return connection
        return None

    async def initiate(self, spec: ConnectionSpec) -> Initiated:
        raise NotSupported("this node has no API to initiate a connection")

    async def attach(self, spec: ConnectionSpec, code: str) -> Initiated:
        """The admin created the connection in the console and pasted its code: check it.
        The name finds it this once; from now on the bot follows it by the node's id."""
        found = await self.find(spec.name)
        if found is None:
            raise NodeRefused(
                f"There is no connection named `{spec.name}` on the node yet: create it in the "
                "Exalate console with the values above, then paste its invitation code here."
            )
        name = answers.one_line(found.name, 100)
        if found.status != "PENDING":
            raise NodeRefused(
                f"`{name}` is {answers.one_line(found.status)} on the node, not Pending: paste "
                "the code of a connection that waits for its partner."
            )
        wanted = spec.destination_url if spec.destination == "public" else None
        if wanted and found.remote_url and not answers.same_instance(found.remote_url, wanted):
            raise NodeRefused(
                f"`{name}` on the node connects to {answers.one_line(found.remote_url, 300)}, "
                f"not to {wanted}, the destination given here: paste the code of the "
                "connection to that destination, or go Back and correct the destination URL."
            )
        return Initiated(backend_id=found.id, code=code)


class _Retry(Exception):
    """A 5xx: worth another try."""


def _token_from_body(text: str) -> str | None:
    """The JWT from an authenticate answer's body: JSON with a token field, or the bare JWT."""
    text = text.strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text if text.count(".") == 2 else None
    if isinstance(data, str):
        return data
    if isinstance(data, dict):
        for key in ("token", "jwt", "X-Exalate-Jwt", "accessToken"):
            if isinstance(data.get(key), str):
                return data[key]
    return None


def _expiry(token: str) -> float | None:
    """The JWT's `exp` in seconds; Exalate's is in milliseconds."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        return None
    return exp / 1000 if exp > 10**11 else float(exp)
