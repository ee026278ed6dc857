"""What Slack sends an app, as payloads: slash commands, view submissions and closings, block
actions and suggestions, Events API callbacks; and Slack's request signature.

Module-level so Socket Mode tests can send the same payloads with
``emulator.socket_send(...)``; bot/devtools/slack_requests.py's SlackSender posts them signed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from collections.abc import Iterator
from typing import Any

from bot.devtools.view_state import element_state, state_values

JsonDict = dict[str, Any]
VERIFICATION_TOKEN = "legacy-verification-token"  # Slack still puts this deprecated token in
API_APP_ID = "A0001"
TEAM_DOMAIN = "exalate-test"


def _team(team_id: str, team_domain: str) -> JsonDict:
    return {"id": team_id, "domain": team_domain}


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
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
) -> dict[str, str]:
    """A slash command as Slack sends it (form fields; the same dict is the Socket Mode payload)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": team_domain,
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


def view_submission_payload(
    view: JsonDict,
    answers: dict[str, Any],
    *,
    user_id: str,
    trigger_id: str,
    user_name: str | None = None,
    team_id: str = "T0001",
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    return {
        "type": "view_submission",
        "team": _team(team_id, team_domain),
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
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    return {
        "type": "view_closed",
        "team": _team(team_id, team_domain),
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
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    """A click (or selection) in a view or in a message (a dict as in emulator.messages)."""
    if (view is None) == (message is None):
        raise ValueError("pass exactly one of view= or message=")
    source = view if view is not None else message
    bid, element = find_element(source.get("blocks") or [], action_id, block_id)
    payload: JsonDict = {
        "type": "block_actions",
        "team": _team(team_id, team_domain),
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
    team_domain: str = TEAM_DOMAIN,
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    _, element = find_element(view.get("blocks", []), action_id, block_id)
    if not element["type"].endswith("external_select"):
        raise ValueError(f"{action_id!r} is a {element['type']}, not an external select")
    return {
        "type": "block_suggestion",
        "team": _team(team_id, team_domain),
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


def _app_event(event: JsonDict, **envelope: Any) -> JsonDict:
    """An event about the app itself: Slack's event carries no event_ts."""
    payload = event_callback_payload(event, **envelope)
    del payload["event"]["event_ts"]
    return payload


def app_uninstalled_payload(
    *,
    team_id: str,
    bot_user_id: str = "UBOT",
    event_id: str | None = None,
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    """Slack's word that a workspace removed the app (api.slack.com/events/app_uninstalled)."""
    return _app_event(
        {"type": "app_uninstalled"},
        bot_user_id=bot_user_id,
        event_id=event_id,
        team_id=team_id,
        api_app_id=api_app_id,
    )


def tokens_revoked_payload(
    *,
    team_id: str,
    bot_user_ids: list[str],
    user_ids: list[str] | None = None,
    event_id: str | None = None,
    api_app_id: str = API_APP_ID,
) -> JsonDict:
    """Slack's word that tokens were revoked: by the user (`oauth`) or bot user (`bot`) they
    belonged to (api.slack.com/events/tokens_revoked)."""
    tokens = {"oauth": list(user_ids or []), "bot": list(bot_user_ids)}
    return _app_event(
        {"type": "tokens_revoked", "tokens": tokens},
        bot_user_id=bot_user_ids[0] if bot_user_ids else "UBOT",
        event_id=event_id,
        team_id=team_id,
        api_app_id=api_app_id,
    )


def sign(signing_secret: str, timestamp: int, body: str) -> str:
    """Slack's request signature: v0= + HMAC-SHA256 of "v0:{timestamp}:{body}"."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
