"""A client for a real Exalate node's REST API 4.0 (`/rest/issuehub/4.0/…`).

What the node offers publicly: authenticate (a JWT, `exp` in milliseconds), the list of
connections with their status, and the project search of the connection wizard. It has no
public API that creates a connection or its invitation code: the admin creates it in the
Exalate console and pastes the code into the bot, which checks that a Pending connection of
that name exists before it delivers the code (`attach`).

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
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import jwt
from pydantic import SecretStr

from bot.backend.base import (
    BackendError,
    ConnectionBackend,
    ConnectionRef,
    ConnectionSpec,
    Initiated,
    NotSupported,
    Project,
    ProjectPage,
)

log = logging.getLogger(__name__)

API = "/rest/issuehub/4.0/"
PAGE_SIZE = 50
SEARCH_CAP = 50  # the node's project search returns at most this many
MAX_PAGES = 200
RETRY_DELAYS = (0.2, 0.8)  # a read is tried up to three times
RENEW_BEFORE = 60.0  # seconds before a JWT's expiry when it is renewed
KNOWN_STATUSES = frozenset({"PENDING", "ACTIVE", "DEACTIVATED"})


class NodeRefused(BackendError):
    """The node said no to this request (not a failure of the node)."""


@dataclass(frozen=True)
class NodeConnection:
    id: str
    name: str
    status: str


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
        results = data.get("results") if isinstance(data, dict) else None
        if not isinstance(results, list):
            raise BackendError(
                f"The Exalate node at {self._host} answered the project search in an "
                "unexpected shape."
            )
        projects = []
        for item in results:
            if not isinstance(item, dict) or not item.get("name"):
                continue
            name = str(item["name"])
            key = str(item.get("key") or item.get("id") or name)
            projects.append(Project(key=key, name=name))
        total = data.get("total")
        if isinstance(total, int):
            return ProjectPage(projects[:limit], max(total, len(projects)))
        # no total: a full page may mean more projects than the node returned
        return ProjectPage(projects[:limit], len(projects), complete=len(results) < SEARCH_CAP)

    async def connections(self) -> list[NodeConnection]:
        """Every connection on the node, page by page (`start`, `limit`), until `total`."""
        found: list[NodeConnection] = []
        for _ in range(MAX_PAGES):
            data = await self._get(
                "connections", {"start": str(len(found)), "limit": str(PAGE_SIZE)}
            )
            results = data.get("results") if isinstance(data, dict) else None
            total = data.get("total") if isinstance(data, dict) else None
            if not isinstance(results, list) or not isinstance(total, int):
                raise BackendError(
                    f"The Exalate node at {self._host} answered the connection list in an "
                    "unexpected shape."
                )
            for item in results:
                connection = self._parse_connection(item)
                if connection is not None:
                    found.append(connection)
            if not results or len(found) >= total:
                return found
        raise BackendError(
            f"The Exalate node at {self._host} lists more connections than expected."
        )

    def _parse_connection(self, item: Any) -> NodeConnection | None:
        if not isinstance(item, dict) or not item.get("name") or item.get("id") is None:
            self._note_once("bad-item", "skipping a connection the node described oddly")
            return None
        status = str(item.get("status") or "").upper()
        if status not in KNOWN_STATUSES:
            self._note_once(f"status:{status}", "the node reports an unknown status %r", status)
        return NodeConnection(id=str(item["id"]), name=str(item["name"]), status=status)

    async def statuses(self, refs: list[ConnectionRef]) -> dict[str, str]:
        """By name (the bot's and the node's names match); a connection the node no longer
        lists is left out, which the poll reports as removed."""
        by_name = {c.name.lower(): c for c in await self.connections()}
        result: dict[str, str] = {}
        for ref in refs:
            found = by_name.get(ref.name.lower())
            if found is not None:
                result[ref.key] = found.status
        return result

    async def find(self, name: str) -> NodeConnection | None:
        for connection in await self.connections():
            if connection.name.lower() == name.lower():
                return connection
        return None

    async def initiate(self, spec: ConnectionSpec) -> Initiated:
        raise NotSupported("this node has no API to initiate a connection")

    async def attach(self, spec: ConnectionSpec, code: str) -> Initiated:
        """The admin created the connection in the console and pasted its code: check it."""
        found = await self.find(spec.name)
        if found is None:
            raise NodeRefused(
                f"There is no connection named `{spec.name}` on the node yet: create it in the "
                "Exalate console with the values above, then paste its invitation code here."
            )
        if found.status != "PENDING":
            raise NodeRefused(
                f"`{found.name}` is {found.status or 'in an unknown state'} on the node, not "
                "Pending: paste the code of a connection that waits for its partner."
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
