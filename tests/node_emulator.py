"""A local emulator of an Exalate node's REST API 4.0 (aiohttp.web), for tests of the node client.

Only what is publicly known of the API is emulated, in exactly these shapes (all under
``/rest/issuehub/4.0/``):

- ``POST authenticate`` with ``{"authProtocol": "basic", "user": ..., "password": ...}`` answers a
  JWT, in the ``X-Exalate-Jwt`` response header (``jwt_in="header"``, body ``{}``) or in the body
  (``jwt_in="body"``: ``{"token": "<jwt>"}``). Wrong credentials: 401; missing or invalid JSON, or
  an authProtocol other than "basic": 400.
- ``GET connections?start=&limit=`` answers ``{"total": N, "results": [...]}``, one page; each
  connection ``{"id", "name", "status"}``, with ``"communication": {"remoteUrl": ...}`` when
  added with a ``remote_url`` (the field is optional: Exalate's scripts read it, nothing says
  every node gives it).
- ``GET scopeparams/search?project=<query>`` answers ``{"results": [{"name", "key", "id"}, ...]}``.

None of this has a public reference, so the emulator can also be a node that breaks what the
bot might assume (attributes, changeable while it runs):

- ``paging="ignore"``: the whole list whatever ``start`` and ``limit`` say;
  ``paging="repeat_last"``: a page asked past the end is the last page again, not an empty one.
- ``omit_total``: no ``total`` in the connection list.
- ``projects_name_only``: project search results are ``{"name"}`` alone, no ``total`` either.
- ``rename_connection``, ``set_status`` (any value, even not a string: deactivate, reactivate,
  PAUSED, ...), ``remove_connection``: what an admin does in the node's console.
- ``fail_next(..., malformed=True)``: an HTML page, a given JSON body of the wrong shape, or
  (a ``str`` body) text sent as JSON that is not JSON.
- Every other request needs a valid, unexpired ``X-exalate-jwt`` header (an issued JWT or a static
  token), else 401. Errors are small JSON objects: ``{"status": 401, "error": "Unauthorized",
  "message": "..."}``.

The JWTs are real HS256 JWTs signed with the emulator's secret; their payload is
``{"sub": user, "exp": <milliseconds since the epoch>}`` (Exalate's ``exp`` is in ms, not seconds).

Faults (``fail_next``) are consumed per path, in order, before the token is checked. While ``down``
is true every request has its connection closed without an answer (see ``down``).

Nothing here prints tokens or passwords: recorded bodies have the password masked and the JWT of a
recorded call is left out of its repr.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import hashlib
import hmac
import json
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JsonDict = dict[str, Any]

API_PREFIX = "/rest/issuehub/4.0/"
JWT_HEADER = "X-Exalate-Jwt"  # header names are case-insensitive; the docs write X-exalate-jwt
KNOWN_PATHS = ("authenticate", "connections", "scopeparams/search")
CONNECTION_STATUSES = ("PENDING", "ACTIVE", "DEACTIVATED")
MAX_PROJECTS = 50
PAGING = ("honour", "ignore", "repeat_last")
MALFORMED_BODY = "<html><body>oops</body></html>"
MASK = "***"


@dataclass
class NodeCall:
    """One request the emulator received."""

    method: str
    path: str  # after /rest/issuehub/4.0/, e.g. "connections" (the full path if outside the API)
    query: dict[str, str]
    json: Any  # the decoded JSON body (None if none or invalid); a "password" is masked as "***"
    jwt: str | None = field(repr=False)  # the X-exalate-jwt header as sent; kept out of reprs
    at: float  # time.monotonic() when it arrived
    status: int | None = None  # status answered; None while pending or if the connection dropped
    content_type: str = ""
    dropped: bool = False  # the node was down: the connection was closed without an answer
    faulted: bool = False  # answered by a fault from fail_next()


@dataclass
class Fault:
    status: int | None
    body: Any
    delay: float
    malformed: bool


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_jwt_payload(token: str) -> JsonDict:
    """The payload of a JWT, unverified (for tests that look at ``sub`` and ``exp``)."""
    return json.loads(_b64url_decode(token.split(".")[1]))


def _error(status: int, message: str) -> web.Response:
    reason = web.Response(status=status).reason
    return web.json_response({"status": status, "error": reason, "message": message}, status=status)


def _normalize(path: str) -> str:
    """``"/rest/issuehub/4.0/connections"``, ``"/connections"`` and ``"connections"`` alike."""
    path = path.split("?", 1)[0]
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :]
    return path.strip("/")


def _mask(body: Any) -> Any:
    if isinstance(body, dict) and "password" in body:
        return {**body, "password": MASK}
    return body


class NodeEmulator:
    """An Exalate node's REST API 4.0 on 127.0.0.1 and a free port.

    ``async with NodeEmulator() as node:`` or ``await node.start()`` / ``await node.stop()``.
    """

    def __init__(
        self,
        *,
        user: str = "exalate-admin",
        password: str = "s3cret",
        page_size: int = 50,
        token_ttl: float = 3600.0,
        jwt_in: str = "header",
        paging: str = "honour",
        omit_total: bool = False,
        projects_name_only: bool = False,
    ) -> None:
        if jwt_in not in ("header", "body"):
            raise ValueError(f"jwt_in must be 'header' or 'body', not {jwt_in!r}")
        if paging not in PAGING:
            raise ValueError(f"paging must be one of {', '.join(PAGING)}, not {paging!r}")
        self.user = user
        self.password = password
        self.page_size = page_size
        self.token_ttl = token_ttl  # seconds; sets the exp of the JWTs authenticate issues
        self.jwt_in = jwt_in
        self.paging = paging  # "honour" | "ignore" | "repeat_last" (see the module's docstring)
        self.omit_total = omit_total
        self.projects_name_only = projects_name_only
        # While True, every request gets its connection closed without an answer (the handler
        # closes the transport), so aiohttp clients raise ServerDisconnectedError, a ClientError.
        # Note aiohttp retries an idempotent request (GET) once when that happens, so a GET made
        # while down is usually recorded twice in `calls`.
        self.down = False
        self.calls: list[NodeCall] = []
        # requests that broke the API's rules without being refused (e.g. no JSON Content-Type)
        self.problems: list[str] = []

        self._secret = secrets.token_bytes(32)
        self._issued: set[str] = set()  # JWTs issued and not yet expired by expire_tokens()
        self._static_tokens: set[str] = set()
        self._connections: dict[str, JsonDict] = {}  # by name, in insertion order
        self._next_connection_id = 1
        self._projects: dict[str, JsonDict] = {}  # by key, in insertion order
        self._next_project_id = 10000
        self._faults: defaultdict[str, deque[Fault]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._stopping = asyncio.Event()

        self.add_project("SUP", "Support")
        self.add_project("DEV", "Development")

    def __repr__(self) -> str:
        where = self.base_url if self._port is not None else "not started"
        return f"<NodeEmulator {where} user={self.user!r} down={self.down}>"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("NodeEmulator already started")
        self._stopping = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping on a fault's delay
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> NodeEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def bot_settings(self) -> dict[str, str]:
        """The settings that point the bot at this node (the `bot_settings` fixture's)."""
        return {
            "exalate_node_url": self.base_url,
            "exalate_node_user": self.user,
            "exalate_node_password": self.password,
        }

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``, no trailing slash; the API is under /rest/issuehub/4.0/."""
        if self._port is None:
            raise RuntimeError("NodeEmulator not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def api_url(self) -> str:
        """``base_url + "/rest/issuehub/4.0"`` (no trailing slash)."""
        return self.base_url + API_PREFIX.rstrip("/")

    @property
    def connections_url(self) -> str:
        """The URL a human would open for the node's Connections page (just a string)."""
        return self.base_url + "/#/connections"

    def url(self, path: str) -> str:
        """The full URL of an API path, e.g. ``node.url("connections")``."""
        return self.base_url + API_PREFIX + _normalize(path)

    # -- node state --------------------------------------------------------------------------

    def add_connection(
        self,
        name: str,
        *,
        status: str = "PENDING",
        remote_url: str | None = None,
        id: int | str | None = None,
        **extra: Any,
    ) -> JsonDict:
        """Add a connection; returns the live dict the node serves (``extra`` merged in last).
        ``remote_url``: its ``communication.remoteUrl`` (None: no ``communication`` at all)."""
        if name in self._connections:
            raise ValueError(f"connection {name!r} already exists")
        if id is None:
            id = self._next_connection_id
        if isinstance(id, int):
            self._next_connection_id = max(self._next_connection_id, id + 1)
        connection: JsonDict = {"id": id, "name": name, "status": status}
        if remote_url is not None:
            connection["communication"] = {"remoteUrl": remote_url}
        connection.update(extra)
        self._connections[name] = connection
        return connection

    def connection(self, name: str) -> JsonDict:
        return self._connections[name]

    def set_status(self, name: str, status: Any) -> None:
        """Any status, as the console would set it ("DEACTIVATED", "ACTIVE" again, "PAUSED"),
        or a value of the wrong type for a node that answers oddly."""
        self._connections[name]["status"] = status

    def rename_connection(self, name: str, new_name: str) -> None:
        """Renamed in the console: the same id, in the same place in the list."""
        if new_name in self._connections:
            raise ValueError(f"connection {new_name!r} already exists")
        self._connections = {
            (new_name if key == name else key): connection
            for key, connection in self._connections.items()
        }
        self._connections[new_name]["name"] = new_name

    def remove_connection(self, name: str) -> None:
        del self._connections[name]

    def add_project(self, key: str, name: str, **extra: Any) -> None:
        """Add (or replace) a project; ``id`` auto-increments from 10000 unless given in extra."""
        if "id" not in extra:
            extra["id"] = self._next_project_id
            self._next_project_id += 1
        self._projects[key] = {"name": name, "key": key, **extra}

    def remove_project(self, key: str) -> None:
        del self._projects[key]

    # -- tokens ------------------------------------------------------------------------------

    def add_static_token(self, token: str) -> None:
        """A token accepted without expiry (not affected by expire_tokens())."""
        self._static_tokens.add(token)

    def issue_token(self, *, ttl: float | None = None) -> str:
        """A valid JWT for ``user``; ``ttl`` seconds (default ``token_ttl``; <= 0: expired)."""
        ttl = self.token_ttl if ttl is None else ttl
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {"sub": self.user, "exp": int((time.time() + ttl) * 1000)}
        signing_input = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)
        )
        signature = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        token = f"{signing_input}.{_b64url(signature)}"
        self._issued.add(token)
        return token

    def expire_tokens(self) -> None:
        """Every JWT issued so far becomes invalid (401), like a node restart. Static stay."""
        self._issued.clear()

    def token_valid(self, token: str | None) -> bool:
        if not token:
            return False
        if token in self._static_tokens:
            return True
        if token not in self._issued:
            return False
        signing_input, _, signature = token.rpartition(".")
        expected = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_b64url_decode(signature), expected):
                return False
            exp = decode_jwt_payload(token)["exp"]
        except (ValueError, KeyError, IndexError):
            return False
        return time.time() * 1000 < exp

    # -- faults and records ------------------------------------------------------------------

    def fail_next(
        self,
        path: str,
        *,
        status: int | None = 500,
        body: Any = None,
        delay: float = 0.0,
        malformed: bool = False,
        times: int = 1,
    ) -> None:
        """Make the next `times` requests to `path` (e.g. "connections") misbehave.

        - ``status``: answer it, with ``body`` (JSON; a str is sent as text) or a JSON error;
          ``status=None`` answers normally (useful with ``delay`` for a slow but correct node).
        - ``delay``: sleep this many seconds first (to make a client time out).
        - ``malformed``: answer 200 with a body that is not JSON (an HTML page); when ``body`` is
          given, with that JSON (meant to be of the wrong shape), or, for a ``str`` body, with
          that text as ``application/json`` (meant to be broken JSON).

        Faults are consumed in order, before the token is checked; not while ``down``.
        """
        normalized = _normalize(path)
        if normalized not in KNOWN_PATHS:
            raise ValueError(f"unknown path {path!r}; known: {', '.join(KNOWN_PATHS)}")
        self._faults[normalized].extend([Fault(status, body, delay, malformed)] * times)

    def pending_faults(self, path: str) -> int:
        return len(self._faults[_normalize(path)])

    def calls_to(self, path: str) -> list[NodeCall]:
        path = _normalize(path)
        return [c for c in self.calls if c.path == path]

    def reset(self) -> None:
        """Forget calls, problems and faults (state, tokens and ``down`` stay)."""
        self.calls = []
        self.problems = []
        self._faults.clear()

    # -- HTTP plumbing -----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw_body = await request.read()
        body: Any = None
        if raw_body:
            with contextlib.suppress(ValueError):
                body = json.loads(raw_body)
        in_api = request.path.startswith(API_PREFIX)
        call = NodeCall(
            method=request.method,
            path=_normalize(request.path) if in_api else request.path,
            query=dict(request.query),
            json=_mask(body),
            jwt=request.headers.get(JWT_HEADER),
            at=time.monotonic(),
            content_type=request.headers.get("Content-Type", ""),
        )
        self.calls.append(call)

        if self.down:
            call.dropped = True
            if request.transport is not None:
                request.transport.close()
            return web.Response()  # never reaches the client: the connection is closed

        response = await self._respond(request, call, body, raw_body, in_api)
        call.status = response.status
        return response

    async def _respond(
        self, request: web.Request, call: NodeCall, body: Any, raw_body: bytes, in_api: bool
    ) -> web.Response:
        if not in_api or call.path not in KNOWN_PATHS:
            return _error(404, f"no such resource: {request.path}")
        if call.content_type.split(";")[0].strip().lower() != "application/json":
            self.problems.append(
                f"{call.method} {call.path}: Content-Type is {call.content_type or 'missing'!r}, "
                "not 'application/json'"
            )

        fault = self._faults[call.path].popleft() if self._faults[call.path] else None
        if fault is not None:
            if fault.delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), fault.delay)
            faulted = self._fault_response(fault)
            if faulted is not None:
                call.faulted = True
                return faulted

        expected_method = "POST" if call.path == "authenticate" else "GET"
        if request.method != expected_method:
            return _error(405, f"{request.method} is not allowed here; use {expected_method}")
        if call.path == "authenticate":
            return self._authenticate(body, raw_body)
        if not self.token_valid(call.jwt):
            reason = "missing" if not call.jwt else "invalid or expired"
            return _error(401, f"{JWT_HEADER} token {reason}")
        if call.path == "connections":
            return self._list_connections(call.query)
        return self._search_projects(call.query)

    @staticmethod
    def _fault_response(fault: Fault) -> web.Response | None:
        if fault.malformed:
            if isinstance(fault.body, str):
                return web.Response(text=fault.body, content_type="application/json")
            if fault.body is not None:
                return web.json_response(fault.body)
            return web.Response(text=MALFORMED_BODY, content_type="text/html")
        if fault.status is None:
            return None
        if fault.body is None:
            return _error(fault.status, "injected fault")
        if isinstance(fault.body, str):
            return web.Response(status=fault.status, text=fault.body)
        return web.json_response(fault.body, status=fault.status)

    def _authenticate(self, body: Any, raw_body: bytes) -> web.Response:
        if not raw_body or not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        if body.get("authProtocol") != "basic":
            return _error(400, "unsupported authProtocol (only 'basic')")
        user, password = body.get("user"), body.get("password")
        if not isinstance(user, str) or not isinstance(password, str):
            return _error(400, "user and password are required")
        user_ok = hmac.compare_digest(user.encode(), self.user.encode())
        password_ok = hmac.compare_digest(password.encode(), self.password.encode())
        if not (user_ok and password_ok):
            return _error(401, "invalid credentials")
        token = self.issue_token()
        if self.jwt_in == "body":
            return web.json_response({"token": token})
        return web.json_response({}, headers={JWT_HEADER: token})

    def _list_connections(self, query: dict[str, str]) -> web.Response:
        try:
            start = int(query.get("start", 0))
            limit = int(query.get("limit", self.page_size))
        except ValueError:
            return _error(400, "start and limit must be integers")
        if start < 0 or limit < 0:
            return _error(400, "start and limit must not be negative")
        limit = min(limit, self.page_size)
        everything = list(self._connections.values())
        if self.paging == "ignore":
            start, limit = 0, len(everything)
        elif self.paging == "repeat_last" and everything and start >= len(everything):
            start = (len(everything) - 1) // limit * limit if limit else 0
        page = copy.deepcopy(everything[start : start + limit])
        if self.omit_total:
            return web.json_response({"results": page})
        return web.json_response({"total": len(everything), "results": page})

    def _search_projects(self, query: dict[str, str]) -> web.Response:
        needle = query.get("project", "").casefold()
        found = [
            copy.deepcopy(p)
            for p in self._projects.values()
            if needle in p["name"].casefold() or needle in p["key"].casefold()
        ]
        if self.projects_name_only:
            found = [{"name": p["name"]} for p in found]
        return web.json_response({"results": found[:MAX_PROJECTS]})
