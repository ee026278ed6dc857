"""The emulator's workspaces and how a Web API call finds one: by the bot token it carries.

Every call is answered by the workspace whose current bot token it carries (an unknown token:
``invalid_auth``; one revoked by an uninstall: ``token_revoked``), or by the app itself for an
app-level token (``apps.connections.open``). The records are the server's, shared by every
workspace: ``calls`` (each with the ``team_id`` that answered), ``problems``, ``responses``.
Faults (``fail_next``) and Slack's pace (``enforce_pace``) can be given per workspace.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable

from bot.devtools.emulator_calls import (
    MESSAGE_METHODS,
    Call,
    Checker,
    Fault,
    JsonDict,
    NoChecks,
    SlackError,
    error_body,
)
from bot.devtools.emulator_files import FileStore
from bot.devtools.emulator_methods import Workspace
from bot.devtools.slack_facts import token_kind


class WorkspaceRouter:
    def __init__(
        self,
        *,
        team_id: str,
        team_name: str,
        team_domain: str,
        bot_user_id: str,
        bot_token: str | None,
        app_token: str,
        app_id: str,
        bot_id: str,
        checker: Checker | None,
    ) -> None:
        self.app_token = app_token
        self.app_id = app_id
        self.checker: Checker = checker if checker is not None else NoChecks()
        self._ids = itertools.count(1)  # ids of views, IMs, messages: unique across workspaces
        self.workspaces: dict[str, Workspace] = {}
        self.files = FileStore(self._problem)  # every workspace's uploads
        self.primary = self._new_workspace(
            team_id=team_id,
            name=team_name,
            domain=team_domain,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            bot_token=bot_token,
            general_channel_id="C0GENERAL",
        )
        self._revoked: set[str] = set()
        self.app_handlers: dict[str, Callable[[JsonDict], JsonDict]] = {
            "apps.connections.open": self._apps_connections_open,
        }
        # records (cleared by reset())
        self.calls: list[Call] = []
        self.problems: list[str] = []
        self.responses: list[JsonDict] = []  # bodies POSTed to response_urls
        self._response_urls: set[str] = set()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._pace: tuple[float, int] | None = None
        self._sent_at: dict[str | None, list[float]] = defaultdict(list)  # by team
        self._channel_sent_at: dict[tuple[str | None, str], float] = {}
        self._waiters: list[tuple[str, Callable[[Call], bool], asyncio.Future[Call]]] = []

    @property
    def socket_url(self) -> str:
        """Where apps.connections.open sends the app (the server's Socket Mode endpoint)."""
        raise NotImplementedError

    @property
    def handlers(self) -> dict[str, Callable[[JsonDict], JsonDict]]:
        """The Web API methods answered: the app-level ones and a workspace's."""
        return {**self.app_handlers, **self.primary.handlers}

    def _problem(self, where: str, problems: list[str]) -> None:
        self.problems += [f"{where}: {p}" for p in problems]

    # -- workspaces --------------------------------------------------------------------------

    def _new_workspace(self, **identity: object) -> Workspace:
        workspace = Workspace(
            app_id=self.app_id, ids=self._ids, peers=self.workspaces, files=self.files, **identity
        )
        self.workspaces[workspace.team_id] = workspace
        return workspace

    def add_workspace(
        self,
        *,
        team_id: str,
        name: str,
        domain: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        installed: bool = False,
    ) -> Workspace:
        """Another workspace, with its own users, channels, IMs, views and messages; the app
        has a bot user there (`bot_user_id`, default UBOT + the team's digits) and, only once
        installed (OAuth, or `installed` at once), a bot token of its own."""
        if team_id in self.workspaces:
            raise ValueError(f"workspace {team_id} exists already")
        suffix = team_id.removeprefix("T")
        return self._new_workspace(
            team_id=team_id,
            name=name,
            domain=domain or name.lower().replace(" ", "-"),
            bot_user_id=bot_user_id or f"UBOT{suffix}",
            bot_id=bot_id or f"B{suffix}",
            bot_token=self._fresh_token(team_id) if installed else None,
            general_channel_id=f"C{suffix}GENERAL",
        )

    def workspace(self, team_id: str) -> Workspace:
        if team_id not in self.workspaces:
            raise LookupError(f"no workspace {team_id!r}; there are {sorted(self.workspaces)}")
        return self.workspaces[team_id]

    def home_of(self, user_id: str) -> Workspace | None:
        """The workspace `user_id` is a member of (not merely visible in through Slack Connect)."""
        return next((w for w in self.workspaces.values() if user_id in w.users), None)

    @staticmethod
    def _fresh_token(team_id: str) -> str:
        return f"xoxb-{team_id}-{secrets.token_hex(12)}"

    def install(self, team_id: str, *, scopes: list[str]) -> str:
        """Install the app in the workspace (a reinstall keeps its token); returns the token."""
        workspace = self.workspace(team_id)
        if workspace.bot_token is None:
            workspace.bot_token = self._fresh_token(team_id)
        workspace.scopes = list(scopes)
        return workspace.bot_token

    def uninstall(self, team_id: str) -> None:
        """The workspace removes the app: its bot token is revoked (``token_revoked`` from now
        on). Tell the bot with slack_payloads' app_uninstalled and tokens_revoked events."""
        workspace = self.workspace(team_id)
        if workspace.bot_token is not None:
            self._revoked.add(workspace.bot_token)
        workspace.bot_token = None
        workspace.scopes = []

    def share_channel(self, channel_id: str, *, with_team: str) -> JsonDict:
        """Slack Connect: the channel is shared with another workspace, and the members of each
        become visible in the other (users.info; never users.lookupByEmail)."""
        owner = next((w for w in self.workspaces.values() if channel_id in w.channels), None)
        if owner is None:
            raise LookupError(f"no channel {channel_id!r} in any workspace")
        other = self.workspace(with_team)
        channel = owner.channels[channel_id]
        channel |= {"is_shared": True, "is_ext_shared": True}
        other.channels[channel_id] = channel
        owner.connected_teams.add(other.team_id)
        other.connected_teams.add(owner.team_id)
        return channel

    # -- records, faults and pace ------------------------------------------------------------

    def reset(self) -> None:
        """Forget the records (calls, problems, messages, responses) and faults.

        The workspaces stay: users, channels, open views, posted messages (chat.update still
        finds them), tokens, trigger_ids and response_urls.
        """
        self.calls = []
        self.problems = []
        self.responses = []
        for workspace in self.workspaces.values():
            workspace.messages = []
            workspace.ephemerals = []
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
        team_id: str | None = None,
    ) -> None:
        """Make the next `times` calls of `method` fail (or just answer late, with only `delay`);
        with `team_id`, only calls that workspace answers."""
        fault = Fault(error, status, retry_after, delay, team_id)
        self._faults[method].extend([fault] * times)

    def _take_fault(self, method: str, team_id: str | None) -> Fault | None:
        queue = self._faults[method]
        fault = next((f for f in queue if f.team_id in (None, team_id)), None)
        if fault is not None:
            queue.remove(fault)
        return fault

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def calls_in(self, team_id: str, method: str | None = None) -> list[Call]:
        """The calls `team_id`'s workspace answered (of `method` only, if given)."""
        return [c for c in self.calls if c.team_id == team_id and method in (None, c.method)]

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

    def _answered(self, call: Call) -> None:
        call.answered = True
        for waited, where, future in self._waiters:
            if waited == call.method and not future.done() and where(call):
                future.set_result(call)

    def enforce_pace(self, *, per_channel_seconds: float = 1.0, per_minute: int = 300) -> None:
        """Answer chat.postMessage and chat.update as Slack paces them: one message (or
        edit) a second per channel and `per_minute` a minute in each workspace (over any
        60 s); beyond, 429 + Retry-After. Each workspace has its own budget."""
        self._pace = (per_channel_seconds, per_minute)

    def _over_pace(self, call: Call) -> int | None:
        if call.method not in ("chat.postMessage", "chat.update") or self._pace is None:
            return None
        per_channel, per_minute = self._pace
        now = time.monotonic()
        team, channel = call.team_id, str(call.params.get("channel"))
        recent = [t for t in self._sent_at[team] if now - t < 60.0]
        self._sent_at[team] = recent
        last = self._channel_sent_at.get((team, channel))
        if last is not None and now - last < per_channel:
            return max(1, math.ceil(per_channel - (now - last)))
        if len(recent) >= per_minute:
            return max(1, math.ceil(60.0 - (now - recent[0])))
        recent.append(now)
        self._channel_sent_at[team, channel] = now
        return None

    # -- answering a call --------------------------------------------------------------------

    def _route(self, method: str, token: str | None) -> tuple[Workspace | None, str | None]:
        """The workspace whose bot token `token` is, and Slack's error for the token if any
        (no workspace and no error: the app-level token, for an app-level method)."""
        if not token:
            return None, "not_authed"
        wants_app = token_kind(method) == "app"
        if token == self.app_token:
            return None, None if wants_app else "not_allowed_token_type"
        workspace = next((w for w in self.workspaces.values() if w.bot_token == token), None)
        if workspace is None:
            return None, "token_revoked" if token in self._revoked else "invalid_auth"
        return workspace, "not_allowed_token_type" if wants_app else None

    async def _respond(self, call: Call) -> dict[str, str]:
        """Sets the call's team, status and response; returns the HTTP headers to answer with."""
        method, params, token = call.method, call.params, call.token
        workspace, refusal = self._route(method, token)
        call.team_id = workspace.team_id if workspace is not None else None
        content_problems, rejection = self._check_content(method, params)
        self._problem(method, self.checker.check_call(method, params, token) + content_problems)

        headers: dict[str, str] = {}
        if await self._faulted(call, headers):
            return headers
        limited = self._over_pace(call)
        if limited is not None:
            call.failed, call.status = True, 429
            call.response = error_body("ratelimited")
            headers["Retry-After"] = str(limited)
            return headers
        call.response = self._answer(call, workspace, refusal, rejection)
        return headers

    async def _faulted(self, call: Call, headers: dict[str, str]) -> bool:
        """Apply the next fault for the call, if one is due; True if it answered the call."""
        fault = self._take_fault(call.method, call.team_id)
        if fault is None:
            return False
        await asyncio.sleep(fault.delay)
        if fault.error is None and fault.status == 200:
            return False
        call.failed = True
        call.status = fault.status
        default = "ratelimited" if fault.status == 429 else "internal_error"
        call.response = error_body(fault.error or default)
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return True

    def _answer(
        self,
        call: Call,
        workspace: Workspace | None,
        refusal: str | None,
        rejection: JsonDict | None,
    ) -> JsonDict:
        """Slack's answer; `refusal` is the token's error, `rejection` the error for an invalid
        view or blocks."""
        method, params = call.method, call.params
        handler = (workspace.handlers if workspace else self.app_handlers).get(method)
        if method not in self.handlers:
            if self.checker.known_method(method):
                self._problem(method, ["not emulated (add it to bot/devtools/emulator_methods.py)"])
            return error_body("unknown_method")
        if refusal is not None:
            return error_body(refusal)
        if handler is None:  # a workspace's method with the app-level token, or the reverse
            return error_body("not_allowed_token_type")
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

    def _apps_connections_open(self, params: JsonDict) -> JsonDict:
        return {"url": self.socket_url}
