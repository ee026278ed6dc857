"""A local Slack Web API + Socket Mode + OAuth emulator for end-to-end tests (aiohttp.web).

Point the bot's ``AsyncWebClient(base_url=emulator.base_url)`` at it. Every call is recorded in
``calls`` and answered the way Slack would answer it. Give it a ``checker`` (the tests give
tests/specs.py, which holds calls against the project's table of Slack's facts,
bot/devtools/slack_facts.py, and slack_sdk's Block Kit models) and what looks wrong lands in
``problems``; without one, nothing is checked (the demo, the benchmarks).

It serves several workspaces at once (``add_workspace``; a call is answered by the workspace
whose bot token it carries) and the app's OAuth install (``authorize_url``, ``oauth.v2.access``).
The emulator's own attributes (``users``, ``messages``, ``views``, ``add_user``...) are those
of the primary workspace, T0001, as when it was the only one.

The parts: this module is the HTTP server (routes, reading a call, the OAuth endpoints, the
upload URL); emulator_routing.py the workspaces, routing by token, the checks, faults, pace and
waiting for a call; emulator_workspace.py a workspace's state (users, channels, views) and
emulator_methods.py the Web API methods answered on it; emulator_files.py file uploads;
emulator_oauth.py the authorize page and the code exchange; emulator_socket.py Socket Mode;
emulator_calls.py what they share (Call, SlackError, the Checker protocol).
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import BasicAuth, web

from bot.devtools.emulator_calls import JSON_PARAMS, MESSAGE_METHODS, JsonDict
from bot.devtools.emulator_calls import Call as Call
from bot.devtools.emulator_calls import Checker as Checker
from bot.devtools.emulator_calls import SlackError as SlackError
from bot.devtools.emulator_calls import decode_json_param as decode_json_param
from bot.devtools.emulator_calls import with_block_ids as with_block_ids
from bot.devtools.emulator_methods import Workspace as Workspace
from bot.devtools.emulator_oauth import Authorization as Authorization
from bot.devtools.emulator_oauth import OAuthApp
from bot.devtools.emulator_socket import SocketMode

__all__ = [
    "MESSAGE_METHODS",
    "Authorization",
    "Call",
    "Checker",
    "SlackEmulator",
    "SlackError",
    "Workspace",
    "decode_json_param",
    "with_block_ids",
]

OAUTH_ACCESS = "oauth.v2.access"  # the app's own credentials, not a token: no workspace asked


class _Primary:
    """An attribute of the primary workspace, read and written through the emulator (which
    was once that one workspace)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, emulator: Any, owner: type | None = None) -> Any:
        return self if emulator is None else getattr(emulator.primary, self.name)

    def __set__(self, emulator: Any, value: Any) -> None:
        setattr(emulator.primary, self.name, value)


class SlackEmulator(SocketMode):
    team_id = _Primary()
    bot_user_id = _Primary()
    bot_id = _Primary()
    bot_token = _Primary()
    installed = _Primary()
    trigger_ttl = _Primary()
    users = _Primary()
    channels = _Primary()
    usergroups = _Primary()
    _ims = _Primary()
    views = _Primary()
    home_views = _Primary()
    view_errors = _Primary()
    messages = _Primary()
    ephemerals = _Primary()
    add_user = _Primary()
    add_channel = _Primary()
    add_usergroup = _Primary()
    dm_user = _Primary()
    external_user = _Primary()
    refuse_dm = _Primary()
    issue_trigger_id = _Primary()
    put_view = _Primary()
    close_view = _Primary()

    def __init__(
        self,
        *,
        team_id: str = "T0001",
        team_name: str = "Exalate Test",
        team_domain: str = "exalate-test",
        bot_user_id: str = "UBOT",
        bot_token: str | None = "xoxb-test-token",
        app_token: str = "xapp-test-token",
        app_id: str = "A0001",
        bot_id: str = "B0001",
        checker: Checker | None = None,
    ) -> None:
        """The primary workspace is installed with `bot_token` (None: not installed yet)."""
        super().__init__(
            team_id=team_id,
            team_name=team_name,
            team_domain=team_domain,
            bot_user_id=bot_user_id,
            bot_token=bot_token,
            app_token=app_token,
            app_id=app_id,
            bot_id=bot_id,
            checker=checker,
        )
        self.oauth = OAuthApp(client_id="1234.5678", client_secret="emulated-secret")
        self.authorizations: list[Authorization] = []  # every visit to the authorize page
        self._runner: web.AppRunner | None = None
        self._port = 0

    def oauth_app(
        self, *, client_id: str, client_secret: str, redirect_uri: str | None = None
    ) -> OAuthApp:
        """The app's OAuth credentials (and its configured redirect URL, if any)."""
        self.oauth = OAuthApp(
            client_id=client_id, client_secret=client_secret, redirect_uri=redirect_uri
        )
        return self.oauth

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{n}", self._handle_response_url)
        app.router.add_get("/socket", self._handle_socket)
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        app.router.add_post("/upload/{file_id}", self.files.handle_upload)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        self.files.base_url = f"http://127.0.0.1:{self._port}/upload/"

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.files.close()

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

    @property
    def authorize_url(self) -> str:
        """Slack's https://slack.com/oauth/v2/authorize, here (for AsyncOAuthSettings)."""
        return f"http://127.0.0.1:{self._port}/oauth/v2/authorize"

    def response_url(self) -> str:
        """A fresh response_url; what is POSTed to it lands in ``responses``."""
        n = next(self._ids)
        self._response_urls.add(str(n))
        return f"http://127.0.0.1:{self._port}/response/{n}"

    # -- HTTP plumbing -----------------------------------------------------------------------

    async def _read_params(
        self, request: web.Request
    ) -> tuple[JsonDict, str | None, tuple[str, str] | None]:
        """The call's arguments, its bearer token and its HTTP Basic credentials."""
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
        basic = None
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
        elif auth.startswith("Basic "):
            try:
                decoded = BasicAuth.decode(auth)
                basic = (decoded.login, decoded.password)
            except ValueError:
                self._problem(request.path, ["malformed Basic Authorization header"])
        return params, token, basic

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params, token, basic = await self._read_params(request)
        call = Call(method, params, token, request.method, time.monotonic(), basic_auth=basic)
        self.calls.append(call)
        if method == OAUTH_ACCESS:
            headers = await self._respond_oauth_access(call)
        else:
            headers = await self._respond(call)
        self._answered(call)
        return web.json_response(call.response, status=call.status, headers=headers)

    async def _respond_oauth_access(self, call: Call) -> dict[str, str]:
        """oauth.v2.access: the code exchanged for the installed workspace's bot token (held
        to the checker like every call: it takes the client's credentials, no token)."""
        self._problem(call.method, self.checker.check_call(call.method, call.params, call.token))
        call.team_id = self.oauth.team_of(str(call.params.get("code") or ""))
        headers: dict[str, str] = {}
        if await self._faulted(call, headers):
            return headers
        try:
            grant = self.oauth.exchange(call.params, call.basic_auth)
        except SlackError as e:
            call.team_id = None
            call.response = e.body
            return headers
        token = self.install(grant.team_id, scopes=grant.scopes)
        workspace = self.workspaces[grant.team_id]
        call.response = {
            "ok": True,
            "access_token": token,
            "token_type": "bot",
            "scope": ",".join(grant.scopes),
            "bot_user_id": workspace.bot_user_id,
            "app_id": self.app_id,
            "team": {"id": workspace.team_id, "name": workspace.name},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": grant.user_id},
        }
        return headers

    async def _handle_authorize(self, request: web.Request) -> web.Response:
        """Slack's authorize page, clicked at once: 302 to the redirect_uri with a code (or
        the error), or a 400 page."""
        asked, where = self.oauth.authorize(request.query, self.workspaces)
        self.authorizations.append(asked)
        if asked.error is not None:
            return web.Response(status=400, text=where)
        return web.Response(status=302, headers={"Location": where})

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
