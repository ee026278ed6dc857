"""A local Slack Web API + Socket Mode emulator for end-to-end tests (aiohttp.web).

Point the bot's ``AsyncWebClient(base_url=emulator.base_url)`` at it. Every call is recorded in
``calls`` and answered the way Slack would answer it. Give it a ``checker`` (the tests give
tests/specs.py, which holds calls against the project's table of Slack's facts,
bot/devtools/slack_facts.py, and slack_sdk's Block Kit models) and what looks wrong lands in
``problems``; without one, nothing is checked (the demo, the benchmarks).

The parts: this module is the HTTP server (routing, the checks, faults, pace, waiting for a
call); emulator_workspace.py the workspace's state (users, channels, views) and records;
emulator_methods.py the Web API methods; emulator_socket.py Socket Mode; emulator_calls.py
what they share (Call, SlackError, the Checker protocol).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.devtools.emulator_calls import (
    JSON_PARAMS,
    MESSAGE_METHODS,
    Fault,
    JsonDict,
    NoChecks,
    error_body,
)
from bot.devtools.emulator_calls import Call as Call
from bot.devtools.emulator_calls import Checker as Checker
from bot.devtools.emulator_calls import SlackError as SlackError
from bot.devtools.emulator_calls import decode_json_param as decode_json_param
from bot.devtools.emulator_calls import with_block_ids as with_block_ids
from bot.devtools.emulator_socket import SocketMode
from bot.devtools.slack_facts import token_kind

__all__ = [
    "MESSAGE_METHODS",
    "Call",
    "Checker",
    "SlackEmulator",
    "SlackError",
    "decode_json_param",
    "with_block_ids",
]


class SlackEmulator(SocketMode):
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
        super().__init__(
            team_id=team_id,
            bot_user_id=bot_user_id,
            bot_token=bot_token,
            app_token=app_token,
            app_id=app_id,
            bot_id=bot_id,
        )
        self.checker: Checker = checker if checker is not None else NoChecks()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._pace: tuple[float, int] | None = None
        self._sent_at: list[float] = []
        self._channel_sent_at: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self._port = 0
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
                call.response = error_body(fault.error or default)
                if fault.retry_after is not None:
                    headers["Retry-After"] = str(fault.retry_after)
                return headers

        limited = self._over_pace(method, params)
        if limited is not None:
            call.failed, call.status = True, 429
            call.response = error_body("ratelimited")
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
        handler = self.handlers.get(method)
        if handler is None:
            if self.checker.known_method(method):
                self._problem(method, ["not emulated (add it to bot/devtools/emulator_methods.py)"])
            return error_body("unknown_method")
        expected = self.app_token if token_kind(method) == "app" else self.bot_token
        if not token:
            return error_body("not_authed")
        if token != expected:
            known = token in (self.app_token, self.bot_token)
            return error_body("not_allowed_token_type" if known else "invalid_auth")
        missing = self.checker.missing_params(method, params)
        if missing:
            error = "channel_not_found" if missing == ["channel"] else "invalid_arguments"
            return error_body(error, *(f"missing required field: {m}" for m in missing))
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
            return problems, error_body("invalid_arguments", *problems) if problems else None
        if method in MESSAGE_METHODS:
            problems = self.checker.check_message(params)
            fatal = [p for p in problems if p != self.checker.MISSING_TEXT_FALLBACK]
            return problems, error_body("invalid_blocks", *fatal) if fatal else None
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
