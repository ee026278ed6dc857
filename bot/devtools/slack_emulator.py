"""A local Slack Web API + Socket Mode emulator for end-to-end tests (aiohttp.web).

Point the bot's ``AsyncWebClient(base_url=emulator.base_url)`` at it. Every call is recorded in
``calls`` and answered the way Slack would answer it. Give it a ``checker`` (the tests give
tests/specs.py, which holds calls against Slack's OpenAPI spec and Block Kit models) and what
looks wrong lands in ``problems``; without one, nothing is checked (the demo, the benchmarks).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from aiohttp import WSMsgType, web

JsonDict = dict[str, Any]
JSON_PARAMS = ("view", "blocks", "attachments", "metadata")
SOCKET_ACK_DEADLINE = 3.0  # seconds Slack waits for an ack
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})


class Checker(Protocol):
    """What the emulator asks of a spec checker (tests/specs.py is one)."""

    MISSING_TEXT_FALLBACK: str

    def known_method(self, method: str) -> bool: ...
    def missing_params(self, method: str, params: JsonDict) -> list[str]: ...
    def check_call(self, method: str, params: JsonDict, token: str | None) -> list[str]: ...
    def check_view(self, view: Any) -> list[str]: ...
    def check_message(self, params: JsonDict) -> list[str]: ...


class NoChecks:
    """Checks nothing: every method is treated as unknown to the spec, nothing is missing."""

    MISSING_TEXT_FALLBACK = ""

    def known_method(self, method: str) -> bool:
        return False

    def missing_params(self, method: str, params: JsonDict) -> list[str]:
        return []

    def check_call(self, method: str, params: JsonDict, token: str | None) -> list[str]:
        return []

    def check_view(self, view: Any) -> list[str]:
        return []

    def check_message(self, params: JsonDict) -> list[str]:
        return []


def decode_json_param(value: Any) -> Any:
    """`blocks`/`view` arrive as JSON strings when form-encoded; as objects in JSON bodies."""
    if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@dataclass
class Call:
    method: str
    params: JsonDict  # JSON-string params (view, blocks, ...) decoded; token removed
    token: str | None
    http_method: str
    at: float  # time.monotonic()
    failed: bool = False  # answered by a fault from fail_next()
    status: int = 200
    response: JsonDict = field(default_factory=dict)
    answered: bool = False  # the response is set


@dataclass
class Fault:
    error: str | None
    status: int
    retry_after: int | None
    delay: float


def _error(error: str, *messages: str) -> JsonDict:
    body: JsonDict = {"ok": False, "error": error}
    if messages:
        body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}
    return body


def with_block_ids(blocks: list[Any]) -> list[Any]:
    """Slack gives blocks sent without a block_id a random one."""
    return [{"block_id": uuid.uuid4().hex[:5], **b} if isinstance(b, dict) else b for b in blocks]


class SlackError(Exception):
    """Raised inside method handlers to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.body = _error(error, *messages)


class SlackEmulator:
    def __init__(
        self,
        *,
        team_id: str = "T0001",
        bot_user_id: str = "UBOT",
        bot_token: str = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        app_id: str = "A0001",
        bot_id: str = "B0001",
        checker: Checker | None = None,
    ) -> None:
        self.checker: Checker = checker if checker is not None else NoChecks()
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_token = bot_token
        self.app_token = app_token
        self.app_id = app_id
        self.bot_id = bot_id
        self.trigger_ttl = 3.0  # seconds a trigger_id stays usable, as on Slack

        self.users: dict[str, JsonDict] = {}
        self.channels: dict[str, JsonDict] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._ims: dict[str, str] = {}  # user id -> IM channel id
        self.add_user(bot_user_id, name="exalate", real_name="Exalate", is_bot=True)
        self.add_channel("C0GENERAL", name="general")

        self._handlers: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
        }
        # state
        self.views: dict[str, JsonDict] = {}  # open views by id (modals and Home tabs)
        self.home_views: dict[str, JsonDict] = {}  # by user id
        self.view_errors: dict[str, JsonDict] = {}  # response_action "errors" by view id
        self._posted: dict[tuple[str, str], JsonDict] = {}  # (channel, ts) -> message
        self._triggers: dict[str, float] = {}  # trigger_id -> issued at (monotonic)
        self._used_triggers: set[str] = set()
        self._response_urls: set[str] = set()
        # records (cleared by reset())
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.messages: list[JsonDict] = []  # successful chat.postMessage, kept current
        self.ephemerals: list[JsonDict] = []
        self.responses: list[JsonDict] = []  # bodies POSTed to response_urls
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._pace: tuple[float, int] | None = None
        self._sent_at: list[float] = []
        self._channel_sent_at: dict[str, float] = {}

        self._runner: web.AppRunner | None = None
        self._port = 0
        self._ids = itertools.count(1)
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self._acks: dict[str, asyncio.Future[JsonDict]] = {}
        self._waiters: list[tuple[str, Callable[[Call], bool], asyncio.Future[Call]]] = []

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{n}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/socket"

    def response_url(self) -> str:
        """A fresh response_url; what is POSTed to it lands in ``responses``."""
        n = next(self._ids)
        self._response_urls.add(str(n))
        return f"http://127.0.0.1:{self._port}/response/{n}"

    def reset(self) -> None:
        """Forget the records (calls, problems, messages, responses) and faults.

        The workspace stays: users, channels, open views, posted messages (chat.update still
        finds them), trigger_ids and response_urls.
        """
        self.calls = []
        self.problems = []
        self.messages = []
        self.ephemerals = []
        self.responses = []
        self._faults.clear()

    # -- workspace state ---------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "Europe/Berlin",
        tz_offset: int | None = None,
        team_id: str | None = None,
    ) -> JsonDict:
        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        real_name = real_name if real_name is not None else name
        user: JsonDict = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": is_primary_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": tz,
            "tz_label": now.tzname(),
            "tz_offset": tz_offset if tz_offset is not None else int(offset.total_seconds()),
            "updated": int(time.time()),
            "profile": {
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": name,
                "display_name_normalized": name,
                "team": team_id or self.team_id,
            },
        }
        if email is not None:
            user["profile"]["email"] = email
        if is_bot:
            user["profile"] |= {"bot_id": self.bot_id, "api_app_id": self.app_id}
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        is_im: bool = False,
    ) -> JsonDict:
        channel = {
            "id": channel_id,
            "name": name,
            "is_channel": not (is_private or is_im),
            "is_group": is_private,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_private or is_im,
            "is_archived": is_archived,
            "is_general": name == "general",
            "is_member": is_member,
            "created": int(time.time()),
        }
        self.channels[channel_id] = channel
        return channel

    def dm_user(self, channel_id: str) -> str | None:
        """The user whose DM with the bot this channel is, if it is one."""
        return next((u for u, c in self._ims.items() if c == channel_id), None)

    def add_usergroup(self, group_id: str, users: list[str]) -> None:
        self.usergroups[group_id] = list(users)

    def issue_trigger_id(self) -> str:
        """A trigger_id as Slack puts in commands and interactions (usable once, for 3 s)."""
        trigger_id = f"{next(self._ids)}.{int(time.time())}.{uuid.uuid4().hex[:20]}"
        self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    # -- faults and records ------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        delay: float = 0.0,
    ) -> None:
        """Make the next `times` calls of `method` fail (or just answer late, with only `delay`)."""
        self._faults[method].extend([Fault(error, status, retry_after, delay)] * times)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_call(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda call: True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> Call:
        """The first answered call of `method` that `where` accepts, waiting for it if none
        has come yet (TimeoutError after `timeout` seconds)."""
        for call in self.calls:
            if call.method == method and call.answered and where(call):
                return call
        waiter = (method, where, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[2], timeout)
        finally:
            self._waiters.remove(waiter)

    def _problem(self, where: str, problems: list[str]) -> None:
        self.problems += [f"{where}: {p}" for p in problems]

    # -- HTTP plumbing -----------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[JsonDict, str | None]:
        params: JsonDict = dict(request.query)
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                body = await self._json_body(request)
                if isinstance(body, dict):
                    params.update(body)
                else:
                    self._problem(request.path, ["body is not a JSON object"])
            else:
                form = await request.post()
                params.update({k: v for k, v in form.items() if isinstance(v, str)})
        for name in JSON_PARAMS:
            if name in params:
                params[name] = decode_json_param(params[name])
        token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
        return params, token

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, token = await self._read_params(request)
        call = Call(method, params, token, request.method, time.monotonic())
        self.calls.append(call)
        headers = await self._respond(call)
        call.answered = True
        for waited, where, future in self._waiters:
            if waited == method and not future.done() and where(call):
                future.set_result(call)
        return web.json_response(call.response, status=call.status, headers=headers)

    async def _respond(self, call: Call) -> dict[str, str]:
        """Sets the call's status and response; returns the HTTP headers to answer with."""
        method, params, token = call.method, call.params, call.token
        content_problems, rejection = self._check_content(method, params)
        self._problem(method, self.checker.check_call(method, params, token) + content_problems)

        fault = self._faults[method].popleft() if self._faults[method] else None
        headers: dict[str, str] = {}
        if fault is not None:
            await asyncio.sleep(fault.delay)
            if fault.error is not None or fault.status != 200:
                call.failed = True
                call.status = fault.status
                default = "ratelimited" if fault.status == 429 else "internal_error"
                call.response = _error(fault.error or default)
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                return headers

        limited = self._over_pace(method, params)
        if limited is not None:
            call.failed, call.status = True, 429
            call.response = _error("ratelimited")
            headers["Retry-After"] = str(limited)
            return headers
        call.response = self._answer(method, params, token, rejection)
        return headers

    def enforce_pace(self, *, per_channel_seconds: float = 1.0, per_minute: int = 300) -> None:
        """Answer chat.postMessage as Slack paces it: one message a second per channel and
        `per_minute` a minute in the workspace (over any 60 s); beyond, 429 + Retry-After."""
        self._pace = (per_channel_seconds, per_minute)

    def _over_pace(self, method: str, params: JsonDict) -> int | None:
        if method != "chat.postMessage" or self._pace is None:
            return None
        per_channel, per_minute = self._pace
        now = time.monotonic()
        channel = str(params.get("channel"))
        recent = [t for t in self._sent_at if now - t < 60.0]
        self._sent_at = recent
        last = self._channel_sent_at.get(channel)
        if last is not None and now - last < per_channel:
            return max(1, math.ceil(per_channel - (now - last)))
        if len(recent) >= per_minute:
            return max(1, math.ceil(60.0 - (now - recent[0])))
        self._sent_at.append(now)
        self._channel_sent_at[channel] = now
        return None

    def _answer(
        self, method: str, params: JsonDict, token: str | None, rejection: JsonDict | None
    ) -> JsonDict:
        """Slack's answer; `rejection` is the error for an invalid view or blocks."""
        handler = self._handlers.get(method)
        if handler is None:
            if self.checker.known_method(method):
                self._problem(method, ["not emulated (add it to bot/devtools/slack_emulator.py)"])
            return _error("unknown_method")
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            return _error("not_authed")
        if token != expected:
            known = token in (self.app_token, self.bot_token)
            return _error("not_allowed_token_type" if known else "invalid_auth")
        missing = self.checker.missing_params(method, params)
        if missing:
            error = "channel_not_found" if missing == ["channel"] else "invalid_arguments"
            return _error(error, *(f"missing required field: {m}" for m in missing))
        if rejection is not None:
            return rejection
        try:
            return {"ok": True, **handler(params)}
        except SlackError as e:
            return e.body

    def _check_content(self, method: str, params: JsonDict) -> tuple[list[str], JsonDict | None]:
        """Problems with a call's view or message content, and Slack's error answer if fatal."""
        if method.startswith("views.") and "view" in params:
            view = params["view"]
            problems = self.checker.check_view(view)
            wanted = "home" if method == "views.publish" else "modal"
            if isinstance(view, dict) and view.get("type") != wanted:
                problems.append(f"view type must be {wanted!r}, got {view.get('type')!r}")
            return problems, _error("invalid_arguments", *problems) if problems else None
        if method in MESSAGE_METHODS:
            problems = self.checker.check_message(params)
            fatal = [p for p in problems if p != self.checker.MISSING_TEXT_FALLBACK]
            return problems, _error("invalid_blocks", *fatal) if fatal else None
        return [], None

    @staticmethod
    async def _json_body(request: web.Request) -> Any:
        try:
            return await request.json()
        except ValueError:
            return None

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        n = request.match_info["n"]
        body = await self._json_body(request)
        if not isinstance(body, dict):
            self._problem(request.path, ["body is not a JSON object"])
            return web.Response(status=400, text="invalid_payload")
        if n not in self._response_urls:
            self._problem("response_url", [f"POST to unknown response_url {n}"])
            return web.Response(status=404, text="no_active_hooks")
        self.responses.append(body)
        self._problem("response_url", self.checker.check_message(body))
        return web.json_response({"ok": True})

    # -- Socket Mode -------------------------------------------------------------------------

    async def _handle_socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)  # answers the client's pings with pongs
        await ws.prepare(request)
        self._sockets.append(ws)
        self._socket_connected.set()
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {
                    "host": "applink-emulator",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
        )
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_socket_message(msg.data)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self._socket_connected.clear()
        return ws

    def _on_socket_message(self, data: str) -> None:
        try:
            ack = json.loads(data)
            future = self._acks.pop(ack["envelope_id"])
        except (ValueError, KeyError, TypeError):
            self._problem("socket", [f"unexpected message {data[:200]!r}"])
            return
        if not future.done():
            future.set_result(ack)

    async def socket_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def socket_send(
        self,
        type: str,
        payload: JsonDict,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 (the tests' API; wait_for inside)
    ) -> JsonDict:
        """Send an envelope to the connected client and return its ack."""
        await self.socket_connected(timeout)
        envelope_id = str(uuid.uuid4())
        future: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        started = time.monotonic()
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope_id,
                "type": type,
                "payload": payload,
                "accepts_response_payload": True,
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        try:
            ack = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"no ack for {type} envelope within {timeout}s") from None
        finally:
            self._acks.pop(envelope_id, None)
        elapsed = time.monotonic() - started
        if elapsed > SOCKET_ACK_DEADLINE:
            self._problem("socket", [f"{type} acked after {elapsed:.1f}s (Slack allows 3s)"])
        return ack

    # -- view helpers (also used by bot/devtools/slack_requests.py) --------------------------

    def put_view(
        self,
        view: JsonDict,
        *,
        view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> JsonDict:
        """Store `view` as Slack would: ids, a new hash, empty state, generated block_ids."""
        view_id = view_id or f"V{next(self._ids):08d}"
        old = self.views.get(view_id, {})
        previous = self.views.get(previous_view_id or "", {})
        self.view_errors.pop(view_id, None)
        stored: JsonDict = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            "blocks": with_block_ids(view.get("blocks", [])),
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "root_view_id": old.get("root_view_id") or previous.get("root_view_id") or view_id,
            "previous_view_id": old.get("previous_view_id", previous_view_id),
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

    def close_view(self, view_id: str, *, clear: bool = False) -> None:
        """Drop a modal (with ``clear``: its whole stack), as when the user closes it."""
        root = self.views.get(view_id, {}).get("root_view_id")
        for vid, view in list(self.views.items()):
            if vid == view_id or (clear and view.get("root_view_id") == root):
                del self.views[vid]
                self.view_errors.pop(vid, None)

    def _use_trigger(self, trigger_id: str) -> None:
        issued = self._triggers.get(trigger_id)
        if issued is None:
            raise SlackError("invalid_trigger_id")
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - issued > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(trigger_id)

    def _find_view(self, params: JsonDict) -> JsonDict:
        if params.get("view_id"):
            view = self.views.get(params["view_id"])
        else:
            ext = params.get("external_id")
            view = next((v for v in self.views.values() if v.get("external_id") == ext), None)
        if view is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != view["hash"]:
            raise SlackError("hash_conflict")
        return view

    # -- Web API methods ---------------------------------------------------------------------

    def _auth_test(self, params: JsonDict) -> JsonDict:
        return {
            "url": "https://exalate-test.slack.com/",
            "team": "Exalate Test",
            "user": self.users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, params: JsonDict) -> JsonDict:
        return {"url": self.socket_url}

    def _user(self, user_id: str) -> JsonDict:
        if user_id not in self.users:
            raise SlackError("user_not_found")
        return self.users[user_id]

    def _users_info(self, params: JsonDict) -> JsonDict:
        return {"user": self._user(params["user"])}

    def _users_lookup_by_email(self, params: JsonDict) -> JsonDict:
        email = params["email"].lower()
        for user in self.users.values():
            if user["profile"].get("email", "").lower() == email:
                return {"user": user}
        raise SlackError("users_not_found")

    def _usergroups_users_list(self, params: JsonDict) -> JsonDict:
        if params["usergroup"] not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": self.usergroups[params["usergroup"]]}

    def _visible_channel(self, channel_id: str) -> JsonDict:
        channel = self.channels.get(channel_id)
        if channel is None or (channel["is_private"] and not channel["is_member"]):
            raise SlackError("channel_not_found")
        return channel

    def _conversations_info(self, params: JsonDict) -> JsonDict:
        return {"channel": self._visible_channel(params["channel"])}

    def _open_im(self, user_id: str) -> tuple[JsonDict, bool]:
        """The bot's IM with `user_id` (created on first use); second item: it already existed."""
        if self._user(user_id)["deleted"]:
            raise SlackError("user_disabled")
        existed = user_id in self._ims
        if not existed:
            self._ims[user_id] = f"D{next(self._ids):08d}"
            channel = self.add_channel(self._ims[user_id], name="", is_im=True)
            channel["user"] = user_id
        return self.channels[self._ims[user_id]], existed

    def _conversations_open(self, params: JsonDict) -> JsonDict:
        if params.get("channel"):
            channel, existed = self._visible_channel(params["channel"]), True
        else:
            users = [u for u in str(params["users"]).split(",") if u]
            if len(users) != 1:
                raise SlackError("not_enough_users" if not users else "too_many_users")
            channel, existed = self._open_im(users[0])
        body: JsonDict = {"channel": channel if params.get("return_im") else {"id": channel["id"]}}
        if existed:
            body |= {"no_op": True, "already_open": True}
        return body

    def _postable_channel(self, channel_id: str) -> str:
        """Where a message to `channel_id` lands (a user id means the bot's IM with that user)."""
        if channel_id in self.users:
            return self._open_im(channel_id)[0]["id"]
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        if channel["is_private"] and not channel["is_member"]:
            raise SlackError("not_in_channel")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        return channel_id

    @staticmethod
    def _require_content(params: JsonDict) -> None:
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")

    @staticmethod
    def _message_fields(params: JsonDict) -> JsonDict:
        blocks = params.get("blocks")
        return {
            "text": params.get("text", ""),
            "blocks": with_block_ids(blocks) if isinstance(blocks, list) else blocks,
            "thread_ts": params.get("thread_ts"),
            "metadata": params.get("metadata"),
        }

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ids)}.000100"

    def _find_message(self, params: JsonDict) -> JsonDict:
        message = self._posted.get((params["channel"], params["ts"]))
        if message is None or message.get("deleted"):
            raise SlackError("message_not_found")
        return message

    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        channel = self._postable_channel(params["channel"])
        self._require_content(params)
        message = {"channel": channel, "ts": self._next_ts()} | self._message_fields(params)
        self.messages.append(message)
        self._posted[channel, message["ts"]] = message
        shown = {k: v for k, v in message.items() if v is not None and k != "channel"}
        return {
            "channel": channel,
            "ts": message["ts"],
            "message": {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id} | shown,
        }

    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        channel = self._postable_channel(params["channel"])
        self._user(params["user"])
        self._require_content(params)
        message = {"channel": channel, "user": params["user"], "ts": self._next_ts()}
        self.ephemerals.append(message | self._message_fields(params))
        return {"message_ts": message["ts"]}

    def _chat_update(self, params: JsonDict) -> JsonDict:
        message = self._find_message(params)
        self._require_content(params)
        fields = self._message_fields(params)
        message |= {k: fields[k] for k in ("text", "blocks", "metadata") if k in params}
        message["edited"] = True
        return {"channel": message["channel"], "ts": message["ts"], "text": message["text"]}

    def _chat_delete(self, params: JsonDict) -> JsonDict:
        self._find_message(params)["deleted"] = True
        return {"channel": params["channel"], "ts": params["ts"]}

    def _views_open(self, params: JsonDict) -> JsonDict:
        self._use_trigger(params["trigger_id"])
        return {"view": self.put_view(params["view"])}

    def _views_push(self, params: JsonDict) -> JsonDict:
        self._use_trigger(params["trigger_id"])
        return {"view": self.put_view(params["view"])}

    def _views_update(self, params: JsonDict) -> JsonDict:
        current = self._find_view(params)
        return {"view": self.put_view(params["view"], view_id=current["id"])}

    def _views_publish(self, params: JsonDict) -> JsonDict:
        user_id = params["user_id"]
        self._user(user_id)
        current = self.home_views.get(user_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        stored = self.put_view(params["view"], view_id=current["id"] if current else None)
        self.home_views[user_id] = stored
        return {"view": stored}
