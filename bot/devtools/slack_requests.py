"""Send the bot what Slack sends it: signed slash commands, interactions and events.

``SlackSender`` posts the payloads of bot/devtools/slack_payloads.py over HTTP, signed like
Slack does, and applies view_submission answers to the emulator's views like Slack does. The
payload builders stay importable from here.

A person acts in their own workspace: the payloads of a member of another emulated workspace
(``emulator.add_workspace``) carry that workspace's team, unless ``team_id=`` says otherwise;
a view is found in whichever workspace holds it.
"""

from __future__ import annotations

import json
import time
from typing import Any, NamedTuple
from urllib.parse import urlencode

import aiohttp

from bot.devtools.slack_emulator import SlackEmulator, Workspace
from bot.devtools.slack_facts import LIMITS
from bot.devtools.slack_payloads import (
    API_APP_ID,
    TEAM_DOMAIN,
    VERIFICATION_TOKEN,
    JsonDict,
    app_uninstalled_payload,
    block_action,
    block_actions_payload,
    block_suggestion_payload,
    command_payload,
    event_callback_payload,
    find_element,
    sign,
    tokens_revoked_payload,
    view_closed_payload,
    view_submission_payload,
)
from bot.devtools.view_state import element_state, input_blocks, state_values, unsubmittable

__all__ = [
    "API_APP_ID",
    "TEAM_DOMAIN",
    "VERIFICATION_TOKEN",
    "SlackResponse",
    "SlackSender",
    "app_uninstalled_payload",
    "block_action",
    "block_actions_payload",
    "block_suggestion_payload",
    "command_payload",
    "element_state",
    "event_callback_payload",
    "find_element",
    "input_blocks",
    "sign",
    "state_values",
    "tokens_revoked_payload",
    "unsubmittable",
    "view_closed_payload",
    "view_submission_payload",
]


class SlackResponse(NamedTuple):
    """The bot's HTTP answer; unpacks as ``status, text``."""

    status: int
    text: str

    @property
    def json(self) -> Any | None:
        try:
            return json.loads(self.text) if self.text.strip() else None
        except ValueError:
            return None


# -- the sender --------------------------------------------------------------------------------


class SlackSender:
    def __init__(
        self,
        *,
        bot_url: str,
        signing_secret: str,
        emulator: SlackEmulator,
        team_id: str = "T0001",
    ) -> None:
        self.bot_url = bot_url
        self.signing_secret = signing_secret
        self.emulator = emulator
        self.team_id = team_id
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SlackResponse:
        """POST `body` to the bot, signed (pass `timestamp`/`signature` to forge)."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature or sign(self.signing_secret, timestamp, body),
            **(headers or {}),
        }
        if self._session is None:
            self._session = aiohttp.ClientSession()
        started = time.monotonic()
        async with self._session.post(self.bot_url, data=body, headers=all_headers) as resp:
            result = SlackResponse(resp.status, await resp.text())
        elapsed = time.monotonic() - started
        if elapsed > LIMITS.ack_seconds:
            self.emulator.problems.append(
                f"bot answered after {elapsed:.1f}s (Slack waits {LIMITS.ack_seconds:g}s)"
            )
        return result

    def _workspace(self, user_id: str, team_id: str | None = None) -> Workspace:
        """Where `user_id` acts: `team_id`'s workspace, else the one they are a member of,
        else the sender's."""
        if team_id is not None:
            return self.emulator.workspace(team_id)
        home = self.emulator.home_of(user_id)
        return home if home is not None else self.emulator.workspace(self.team_id)

    def _who(self, user_id: str, workspace: Workspace) -> JsonDict:
        """The user/team/app arguments of the payload builders."""
        user = workspace.users.get(user_id) or workspace.external_user(user_id) or {}
        return {
            "user_id": user_id,
            "user_name": user.get("name"),
            "team_id": workspace.team_id,
            "team_domain": workspace.domain,
            "api_app_id": self.emulator.app_id,
        }

    def _view(self, view_id: str) -> tuple[Workspace, JsonDict]:
        """The open view and the workspace it is open in."""
        for workspace in self.emulator.workspaces.values():
            if view_id in workspace.views:
                return workspace, workspace.views[view_id]
        open_ = sorted(v for w in self.emulator.workspaces.values() for v in w.views)
        raise LookupError(f"no open view {view_id!r}; open: {open_}")

    async def _interaction(self, payload: JsonDict) -> SlackResponse:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def command(
        self,
        text: str,
        *,
        user_id: str,
        command: str = "/exalate",
        channel_id: str | None = None,
        team_id: str | None = None,
    ) -> SlackResponse:
        """The slash command typed in `channel_id` (default: the workspace's #general)."""
        workspace = self._workspace(user_id, team_id)
        channel_id = channel_id or workspace.general_channel_id
        channel = workspace.channels.get(channel_id, {})
        payload = command_payload(
            text=text,
            trigger_id=workspace.issue_trigger_id(),
            response_url=self.emulator.response_url(),
            command=command,
            channel_id=channel_id,
            channel_name=channel.get("name", "privategroup"),
            **self._who(user_id, workspace),
        )
        return await self.post(urlencode(payload), "application/x-www-form-urlencoded")

    def fill(self, view_id: str, values: dict[str, Any]) -> None:
        """The user types `values` into an open view without submitting it (Slack keeps them in
        the view's state and sends them with block_actions and the later view_submission)."""
        _, view = self._view(view_id)
        view["state"] = {"values": state_values(view, values)}

    async def submit_view(
        self,
        view_id: str,
        values: dict[str, Any],
        *,
        user_id: str,
        as_client: bool = False,
        team_id: str | None = None,
    ) -> SlackResponse:
        """Submit the view with `values` ({block_id: answer}) typed in.

        With `as_client`, refuse (ValueError) what Slack's client would not even submit; by
        default such answers reach the bot, to test its own validation.
        """
        workspace, view = self._view(view_id)
        who = self._who(user_id, self._workspace(user_id, team_id or workspace.team_id))
        payload = view_submission_payload(
            view, values, trigger_id=workspace.issue_trigger_id(), **who
        )
        submitted = payload["view"]
        if as_client and (reasons := unsubmittable(submitted, submitted["state"]["values"])):
            raise ValueError(f"Slack would not submit: {'; '.join(reasons)}")
        response = await self._interaction(payload)
        self._apply_submission_response(workspace, view_id, response)
        return response

    def _apply_submission_response(
        self, workspace: Workspace, view_id: str, response: SlackResponse
    ) -> None:
        """Do to the emulator's views what Slack does with a view_submission answer."""
        if response.status != 200:
            return  # Slack shows the user an error and keeps the view
        body = response.json if response.text.strip() else {}
        action = body.get("response_action") if isinstance(body, dict) else "<not JSON>"
        problems: list[str] = []
        if action is None:
            workspace.close_view(view_id)
        elif action == "clear":
            workspace.close_view(view_id, clear=True)
        elif action in ("update", "push"):
            view = body.get("view")
            problems = self.emulator.checker.check_view(view)
            if not problems and view.get("type") != "modal":
                problems = [f"view type must be 'modal', got {view.get('type')!r}"]
            if not problems and action == "update":
                workspace.put_view(view, view_id=view_id)
            elif not problems:
                workspace.put_view(view, previous_view_id=view_id)
        elif action == "errors":
            errors = body.get("errors") or {}
            inputs = input_blocks(workspace.views[view_id])
            unknown = sorted(set(errors) - set(inputs))
            if unknown or not errors:
                problems = [f"errors must name input blocks {sorted(inputs)}; got {errors}"]
            workspace.view_errors[view_id] = errors
        else:
            problems = [f"unknown response_action {action!r}"]
        self.emulator.problems += [f"view_submission response: {p}" for p in problems]

    async def click(
        self,
        *,
        action_id: str,
        user_id: str,
        value: Any = None,
        block_id: str | None = None,
        view_id: str | None = None,
        message: JsonDict | None = None,
        channel_id: str | None = None,
        team_id: str | None = None,
    ) -> SlackResponse:
        """Click a button (or pick `value` in a select) in an open view or a posted message."""
        view = None
        if view_id:
            where, view = self._view(view_id)
            team_id = team_id or where.team_id
        workspace = self._workspace(user_id, team_id)
        channel_id = channel_id or (message or {}).get("channel")
        channel = workspace.channels.get(channel_id or "", {})
        payload = block_actions_payload(
            action_id=action_id,
            trigger_id=workspace.issue_trigger_id(),
            value=value,
            block_id=block_id,
            view=view,
            message=message,
            channel_id=channel_id,
            channel_name=channel.get("name"),
            is_ephemeral=any(message is m for m in workspace.ephemerals),
            response_url=self.emulator.response_url() if message is not None else None,
            **self._who(user_id, workspace),
        )
        return await self._interaction(payload)

    async def close_view(self, view_id: str, *, user_id: str) -> SlackResponse | None:
        """The user closes the modal; Slack tells the app only if it set notify_on_close."""
        workspace, view = self._view(view_id)
        workspace.close_view(view_id)
        if not view.get("notify_on_close"):
            return None
        payload = view_closed_payload(view, **self._who(user_id, workspace))
        return await self._interaction(payload)

    async def suggest(
        self, view_id: str, *, action_id: str, block_id: str, value: str, user_id: str
    ) -> SlackResponse:
        """The user types `value` into an external select; `.json` holds the bot's options."""
        workspace, view = self._view(view_id)
        payload = block_suggestion_payload(
            view,
            action_id=action_id,
            block_id=block_id,
            value=value,
            **self._who(user_id, workspace),
        )
        response = await self._interaction(payload)
        options = response.json or {}
        count = len(options.get("options", [])) + len(options.get("option_groups", []))
        if count > LIMITS.suggestion_options:
            self.emulator.problems.append(
                f"block_suggestion: {count} options (max {LIMITS.suggestion_options})"
            )
        return response

    async def event(
        self,
        event: JsonDict,
        *,
        retry_num: int | None = None,
        event_id: str | None = None,
        team_id: str | None = None,
    ) -> SlackResponse:
        """An Events API event_callback (in `team_id`, default the sender's workspace);
        `retry_num` sends it as Slack's retry of `event_id`."""
        workspace = self.emulator.workspace(team_id or self.team_id)
        payload = event_callback_payload(
            event,
            bot_user_id=workspace.bot_user_id,
            event_id=event_id,
            team_id=workspace.team_id,
            api_app_id=self.emulator.app_id,
        )
        return await self.send_event(payload, retry_num=retry_num)

    async def uninstall(self, team_id: str) -> list[SlackResponse]:
        """The workspace removes the app: the emulator revokes its token, and Slack tells the
        bot with tokens_revoked, then app_uninstalled. Returns the bot's two answers."""
        workspace = self.emulator.workspace(team_id)
        self.emulator.uninstall(team_id)
        app_id = self.emulator.app_id
        payloads = [
            tokens_revoked_payload(
                team_id=team_id, bot_user_ids=[workspace.bot_user_id], api_app_id=app_id
            ),
            app_uninstalled_payload(
                team_id=team_id, bot_user_id=workspace.bot_user_id, api_app_id=app_id
            ),
        ]
        return [await self.send_event(payload) for payload in payloads]

    async def send_event(self, payload: JsonDict, *, retry_num: int | None = None) -> SlackResponse:
        """POST an event_callback payload as Slack does (with `retry_num`: as its retry)."""
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(json.dumps(payload), "application/json", headers=headers)
