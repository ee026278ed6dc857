"""Send the bot what Slack sends it: signed slash commands, interactions and events.

The payload builders are module-level so Socket Mode tests can send the same payloads with
``emulator.socket_send(...)``; ``SlackSender`` posts them over HTTP, signed like Slack does,
and applies view_submission answers to the emulator's views like Slack does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any, NamedTuple
from urllib.parse import urlencode

import aiohttp

from bot.devtools.slack_emulator import SlackEmulator

JsonDict = dict[str, Any]
VERIFICATION_TOKEN = "legacy-verification-token"  # Slack still puts this deprecated token in
API_APP_ID = "A0001"
TEAM_DOMAIN = "exalate-test"
ACK_DEADLINE = 3.0  # seconds Slack waits for the HTTP response

# element type -> (its key in state.values, its initial-value key); a key ending in "s" is a list
_ELEMENTS = {
    "plain_text_input": ("value", "initial_value"),
    "email_text_input": ("value", "initial_value"),
    "url_text_input": ("value", "initial_value"),
    "number_input": ("value", "initial_value"),
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "static_select": ("selected_option", "initial_option"),
    "external_select": ("selected_option", "initial_option"),
    "radio_buttons": ("selected_option", "initial_option"),
    "overflow": ("selected_option", "initial_option"),
    "checkboxes": ("selected_options", "initial_options"),
    "multi_static_select": ("selected_options", "initial_options"),
    "multi_external_select": ("selected_options", "initial_options"),
}
_TEXT_ELEMENTS = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}


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


# -- payload builders --------------------------------------------------------------------------


def _team(team_id: str) -> JsonDict:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _user(user_id: str, user_name: str | None, team_id: str) -> JsonDict:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def command_payload(
    *,
    text: str,
    user_id: str,
    trigger_id: str,
    response_url: str,
    command: str = "/exalate",
    channel_id: str = "C0GENERAL",
    channel_name: str = "general",
    user_name: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = API_APP_ID,
) -> dict[str, str]:
    """A slash command as Slack sends it (form fields; the same dict is the Socket Mode payload)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _options(element: JsonDict) -> list[JsonDict]:
    groups = element.get("option_groups", [])
    return element.get("options") or [o for g in groups for o in g.get("options", [])]


def _option(element: JsonDict, answer: Any) -> JsonDict:
    if element["type"].endswith("external_select"):
        if isinstance(answer, dict):
            return answer
        return {"text": {"type": "plain_text", "text": str(answer)}, "value": str(answer)}
    for option in _options(element):
        if option["value"] == answer:
            return option
    values = [o["value"] for o in _options(element)]
    raise ValueError(f"{answer!r} is not an option of {element['action_id']!r}: {values}")


def _empty(value: Any) -> bool:
    return value in (None, "", [])


def _state_keys(kind: str) -> tuple[str, str]:
    if kind not in _ELEMENTS:
        raise NotImplementedError(f"element type {kind!r} is not supported by slack_requests.py")
    return _ELEMENTS[kind]


def element_state(element: JsonDict, answer: Any) -> JsonDict:
    """The `state.values` entry Slack reports for `element` after the user gave `answer`."""
    kind = element["type"]
    key, _ = _state_keys(kind)
    many = key.endswith("s")
    given = [a for a in (answer or [] if many else [answer]) if not _empty(a)]
    if key.startswith("selected_option"):
        given = [_option(element, a) for a in given]
    elif kind in _TEXT_ELEMENTS:
        given = [str(a) for a in given]
    return {"type": kind, key: given if many else next(iter(given), None)}


def _initial_state(element: JsonDict) -> JsonDict:
    kind = element["type"]
    key, initial = _state_keys(kind)
    return {"type": kind, key: element.get(initial, [] if key.endswith("s") else None)}


def unsubmittable(view: JsonDict, values: JsonDict) -> list[str]:
    """Why Slack's client would refuse to submit `values` (empty required inputs, text lengths)."""
    reasons = []
    for block_id, block in input_blocks(view).items():
        element = block["element"]
        state = values[block_id][element["action_id"]]
        value = next(v for k, v in state.items() if k != "type")
        if _empty(value):
            if not block.get("optional"):
                reasons.append(f"required input {block_id!r} is empty")
        elif element["type"] == "plain_text_input":
            low, high = element.get("min_length", 0), element.get("max_length", 3000)
            if not low <= len(value) <= high:
                reasons.append(f"{block_id!r} needs {low}..{high} characters, got {len(value)}")
    return reasons


def input_blocks(view: JsonDict) -> dict[str, JsonDict]:
    return {
        b["block_id"]: b
        for b in view.get("blocks", [])
        if b.get("type") == "input" and "block_id" in b
    }


def state_values(view: JsonDict, answers: dict[str, Any]) -> JsonDict:
    """`view.state.values` once the user typed `answers` ({block_id: answer}) into the view.

    Other input blocks keep what the view's `state` already holds (typed earlier, e.g. with
    SlackSender.fill) or else their initial values.
    """
    inputs = input_blocks(view)
    unknown = sorted(set(answers) - set(inputs))
    if unknown:
        raise LookupError(
            f"{unknown} not input blocks of view {view.get('callback_id')!r}; "
            f"its input blocks: {sorted(inputs)}"
        )
    typed = view.get("state", {}).get("values", {})
    values: JsonDict = {}
    for block_id, block in inputs.items():
        element = block["element"]
        action_id = element["action_id"]
        if block_id in answers:
            state = element_state(element, answers[block_id])
        elif action_id in typed.get(block_id, {}):
            state = typed[block_id][action_id]
        else:
            state = _initial_state(element)
        values[block_id] = {action_id: state}
    return values


def view_submission_payload(
    view: JsonDict,
    answers: dict[str, Any],
    *,
    user_id: str,
    trigger_id: str,
    user_name: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    return {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "view": view | {"state": {"values": state_values(view, answers)}},
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_closed_payload(
    view: JsonDict,
    *,
    user_id: str,
    user_name: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    return {
        "type": "view_closed",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "view": view,
        "is_cleared": False,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def _interactive_elements(blocks: list[JsonDict]) -> Iterator[tuple[str, JsonDict]]:
    for block in blocks:
        candidates = [*block.get("elements", []), block.get("accessory"), block.get("element")]
        for element in candidates:
            if isinstance(element, dict) and "action_id" in element:
                yield block.get("block_id", ""), element


def find_element(
    blocks: list[JsonDict], action_id: str, block_id: str | None = None
) -> tuple[str, JsonDict]:
    """(block_id, element) of the interactive element with `action_id` (and `block_id`)."""
    found = list(_interactive_elements(blocks))
    for bid, element in found:
        if element["action_id"] == action_id and block_id in (None, bid):
            return bid, element
    present = [(bid, e["action_id"]) for bid, e in found]
    raise LookupError(f"no element {action_id!r} (block {block_id!r}); present: {present}")


def block_action(block_id: str, element: JsonDict, value: Any = None) -> JsonDict:
    """One entry of a block_actions payload's `actions` for `element` used with `value`."""
    action = {
        "action_id": element["action_id"],
        "block_id": block_id,
        "type": element["type"],
        "action_ts": f"{time.time():.6f}",
    }
    if element["type"] != "button":
        return action | element_state(element, value)
    action["text"] = element["text"]
    if (value := element.get("value") if value is None else value) is not None:
        action["value"] = value
    if "style" in element:
        action["style"] = element["style"]
    return action


def block_actions_payload(
    *,
    action_id: str,
    user_id: str,
    trigger_id: str,
    value: Any = None,
    block_id: str | None = None,
    view: JsonDict | None = None,
    message: JsonDict | None = None,
    channel_id: str | None = None,
    channel_name: str | None = None,
    is_ephemeral: bool = False,
    response_url: str | None = None,
    user_name: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    """A click (or selection) in a view or in a message (a dict as in emulator.messages)."""
    if (view is None) == (message is None):
        raise ValueError("pass exactly one of view= or message=")
    source = view if view is not None else message
    bid, element = find_element(source.get("blocks") or [], action_id, block_id)
    payload: JsonDict = {
        "type": "block_actions",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id,
        "actions": [block_action(bid, element, value)],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    if view is not None:
        state = {"values": state_values(view, {})}
        return payload | {
            "container": {"type": "view", "view_id": view["id"]},
            "view": view | {"state": state},
        }
    channel_id = channel_id or message["channel"]
    payload |= {
        "container": {
            "type": "message",
            "message_ts": message["ts"],
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "channel": {"id": channel_id, "name": channel_name or channel_id},
        "response_url": response_url,
    }
    if not is_ephemeral:  # Slack leaves the message out for ephemeral ones
        shown = ("ts", "text", "blocks", "thread_ts", "user", "bot_id")
        payload["message"] = {"type": "message"} | {
            k: message[k] for k in shown if message.get(k) is not None
        }
    return payload


def block_suggestion_payload(
    view: JsonDict,
    *,
    action_id: str,
    block_id: str,
    value: str,
    user_id: str,
    user_name: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    _, element = find_element(view.get("blocks", []), action_id, block_id)
    if not element["type"].endswith("external_select"):
        raise ValueError(f"{action_id!r} is a {element['type']}, not an external select")
    return {
        "type": "block_suggestion",
        "team": _team(team_id),
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {"type": "view", "view_id": view["id"]},
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "view": view,
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback_payload(
    event: JsonDict,
    *,
    bot_user_id: str = "UBOT",
    event_id: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    now = time.time()
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": {"event_ts": f"{now:.6f}"} | event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(now),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": uuid.uuid4().hex,
    }


def sign(signing_secret: str, timestamp: int, body: str) -> str:
    """Slack's request signature: v0= + HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


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
        if elapsed > ACK_DEADLINE:
            self.emulator.problems.append(f"bot answered after {elapsed:.1f}s (Slack waits 3s)")
        return result

    def _who(self, user_id: str) -> JsonDict:
        """The user/team/app arguments of the payload builders."""
        return {
            "user_id": user_id,
            "user_name": self.emulator.users.get(user_id, {}).get("name"),
            "team_id": self.team_id,
            "api_app_id": self.emulator.app_id,
        }

    def _view(self, view_id: str) -> JsonDict:
        if view_id not in self.emulator.views:
            raise LookupError(f"no open view {view_id!r}; open: {sorted(self.emulator.views)}")
        return self.emulator.views[view_id]

    async def _interaction(self, payload: JsonDict) -> SlackResponse:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def command(
        self,
        text: str,
        *,
        user_id: str,
        command: str = "/exalate",
        channel_id: str = "C0GENERAL",
    ) -> SlackResponse:
        channel = self.emulator.channels.get(channel_id, {})
        payload = command_payload(
            text=text,
            trigger_id=self.emulator.issue_trigger_id(),
            response_url=self.emulator.response_url(),
            command=command,
            channel_id=channel_id,
            channel_name=channel.get("name", "privategroup"),
            **self._who(user_id),
        )
        return await self.post(urlencode(payload), "application/x-www-form-urlencoded")

    def fill(self, view_id: str, values: dict[str, Any]) -> None:
        """The user types `values` into an open view without submitting it (Slack keeps them in
        the view's state and sends them with block_actions and the later view_submission)."""
        view = self._view(view_id)
        view["state"] = {"values": state_values(view, values)}

    async def submit_view(
        self, view_id: str, values: dict[str, Any], *, user_id: str, as_client: bool = False
    ) -> SlackResponse:
        """Submit the view with `values` ({block_id: answer}) typed in.

        With `as_client`, refuse (ValueError) what Slack's client would not even submit; by
        default such answers reach the bot, to test its own validation.
        """
        payload = view_submission_payload(
            self._view(view_id),
            values,
            trigger_id=self.emulator.issue_trigger_id(),
            **self._who(user_id),
        )
        submitted = payload["view"]
        if as_client and (reasons := unsubmittable(submitted, submitted["state"]["values"])):
            raise ValueError(f"Slack would not submit: {'; '.join(reasons)}")
        response = await self._interaction(payload)
        self._apply_submission_response(view_id, response)
        return response

    def _apply_submission_response(self, view_id: str, response: SlackResponse) -> None:
        """Do to the emulator's views what Slack does with a view_submission answer."""
        if response.status != 200:
            return  # Slack shows the user an error and keeps the view
        body = response.json if response.text.strip() else {}
        action = body.get("response_action") if isinstance(body, dict) else "<not JSON>"
        problems: list[str] = []
        if action is None:
            self.emulator.close_view(view_id)
        elif action == "clear":
            self.emulator.close_view(view_id, clear=True)
        elif action in ("update", "push"):
            view = body.get("view")
            problems = self.emulator.checker.check_view(view)
            if not problems and view.get("type") != "modal":
                problems = [f"view type must be 'modal', got {view.get('type')!r}"]
            if not problems and action == "update":
                self.emulator.put_view(view, view_id=view_id)
            elif not problems:
                self.emulator.put_view(view, previous_view_id=view_id)
        elif action == "errors":
            errors = body.get("errors") or {}
            inputs = input_blocks(self.emulator.views[view_id])
            unknown = sorted(set(errors) - set(inputs))
            if unknown or not errors:
                problems = [f"errors must name input blocks {sorted(inputs)}; got {errors}"]
            self.emulator.view_errors[view_id] = errors
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
    ) -> SlackResponse:
        """Click a button (or pick `value` in a select) in an open view or a posted message."""
        channel_id = channel_id or (message or {}).get("channel")
        channel = self.emulator.channels.get(channel_id or "", {})
        payload = block_actions_payload(
            action_id=action_id,
            trigger_id=self.emulator.issue_trigger_id(),
            value=value,
            block_id=block_id,
            view=self._view(view_id) if view_id else None,
            message=message,
            channel_id=channel_id,
            channel_name=channel.get("name"),
            is_ephemeral=any(message is m for m in self.emulator.ephemerals),
            response_url=self.emulator.response_url() if message is not None else None,
            **self._who(user_id),
        )
        return await self._interaction(payload)

    async def close_view(self, view_id: str, *, user_id: str) -> SlackResponse | None:
        """The user closes the modal; Slack tells the app only if it set notify_on_close."""
        view = self._view(view_id)
        self.emulator.close_view(view_id)
        if not view.get("notify_on_close"):
            return None
        payload = view_closed_payload(view, **self._who(user_id))
        return await self._interaction(payload)

    async def suggest(
        self, view_id: str, *, action_id: str, block_id: str, value: str, user_id: str
    ) -> SlackResponse:
        """The user types `value` into an external select; `.json` holds the bot's options."""
        payload = block_suggestion_payload(
            self._view(view_id),
            action_id=action_id,
            block_id=block_id,
            value=value,
            **self._who(user_id),
        )
        response = await self._interaction(payload)
        options = response.json or {}
        count = len(options.get("options", [])) + len(options.get("option_groups", []))
        if count > 100:
            self.emulator.problems.append(f"block_suggestion: {count} options (max 100)")
        return response

    async def event(
        self, event: JsonDict, *, retry_num: int | None = None, event_id: str | None = None
    ) -> SlackResponse:
        """An Events API event_callback; `retry_num` sends it as Slack's retry of `event_id`."""
        payload = event_callback_payload(
            event,
            bot_user_id=self.emulator.bot_user_id,
            event_id=event_id,
            team_id=self.team_id,
            api_app_id=self.emulator.app_id,
        )
        headers = {}
        if retry_num is not None:
            headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(json.dumps(payload), "application/json", headers=headers)
