"""What the project knows of Slack, written down as its own table: the Web API methods the bot
and the emulator call (what each requires, which token) and the Block Kit limits the emulator
holds calls to.

Plain data, so a clone with nothing beside it has it. tests/specs.py checks calls against it;
tests/test_slack_facts.py compares it with Slack's published OpenAPI spec (slack-api-specs,
last updated 2020) where that is at hand, and with what slack_sdk's models enforce.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

TokenKind = Literal["bot", "app", "client"]  # client: the app's client id and secret


@dataclass(frozen=True, slots=True)
class Method:
    """One Web API method. `required`: every argument Slack requires (the token aside);
    `beyond_spec`: those of them the 2020 OpenAPI spec does not flag `required` (Slack's
    method pages say they are), `note` says where; `one_of`: at least one of these is needed;
    `newer_than_spec`: the method came after that spec."""

    required: frozenset[str] = frozenset()
    beyond_spec: frozenset[str] = frozenset()
    one_of: tuple[str, ...] = ()
    token: TokenKind = "bot"
    newer_than_spec: bool = False
    note: str = ""


def _args(*names: str) -> frozenset[str]:
    return frozenset(names)


METHODS: Mapping[str, Method] = MappingProxyType(
    {
        "auth.test": Method(),
        "oauth.v2.access": Method(
            required=_args("code"),
            token="client",
            note="an install's code swapped for the workspace's bot token: no token, the "
            "app's client_id and client_secret (HTTP Basic or form)",
        ),
        "apps.connections.open": Method(
            token="app",
            newer_than_spec=True,
            note="Socket Mode (2021): the app-level token opens a WebSocket URL",
        ),
        "users.info": Method(
            required=_args("user"),
            beyond_spec=_args("user"),
            note="api.slack.com/methods/users.info: user is required",
        ),
        "users.lookupByEmail": Method(required=_args("email")),
        "usergroups.users.list": Method(required=_args("usergroup")),
        "conversations.info": Method(
            required=_args("channel"),
            beyond_spec=_args("channel"),
            note="api.slack.com/methods/conversations.info: channel is required",
        ),
        "conversations.open": Method(
            one_of=("users", "channel"),
            note="api.slack.com/methods/conversations.open: users, or channel to resume one",
        ),
        # not emulated: the emulator reports a call to it as such, not as an unknown method
        "conversations.members": Method(
            required=_args("channel"),
            beyond_spec=_args("channel"),
            note="api.slack.com/methods/conversations.members: channel is required",
        ),
        "chat.postMessage": Method(required=_args("channel")),
        "chat.postEphemeral": Method(required=_args("channel", "user")),
        "chat.update": Method(required=_args("channel", "ts")),
        "chat.delete": Method(
            required=_args("channel", "ts"),
            beyond_spec=_args("channel", "ts"),
            note="api.slack.com/methods/chat.delete: channel and ts are required",
        ),
        "views.open": Method(required=_args("trigger_id", "view")),
        "views.push": Method(required=_args("trigger_id", "view")),
        "views.update": Method(
            required=_args("view"),
            beyond_spec=_args("view"),
            one_of=("view_id", "external_id"),
            note="api.slack.com/methods/views.update: view, and view_id or external_id",
        ),
        "views.publish": Method(required=_args("user_id", "view")),
        # files.upload's successor (2024; files.upload stopped in 2025): a URL, the bytes
        # POSTed to it, then the upload completed and shared
        "files.getUploadURLExternal": Method(
            required=_args("filename", "length"),
            newer_than_spec=True,
            note="api.slack.com/methods/files.getUploadURLExternal: filename, and length in "
            "bytes; answers upload_url and file_id",
        ),
        "files.completeUploadExternal": Method(
            required=_args("files"),
            newer_than_spec=True,
            note="api.slack.com/methods/files.completeUploadExternal: files, a JSON array of "
            "{id, title}; channel_id shares them there, with initial_comment",
        ),
    }
)

# Methods whose message content is checked (blocks, the text fallback).
MESSAGE_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Block Kit and timing limits. The block counts, the text fallback, the options of a
    block_suggestion, the deadlines and the trigger_id's life are checked by the emulator and
    tests/specs.py themselves; the text lengths by slack_sdk's models, which tests/specs.py
    runs (tests/test_slack_facts.py checks that they hold these very numbers)."""

    message_blocks: int = 50
    view_blocks: int = 100
    view_title: int = 24  # a view's title, submit and close texts
    private_metadata: int = 3000
    callback_id: int = 255
    section_text: int = 3000
    header_text: int = 150
    button_text: int = 75
    plain_text_input: int = 3000  # a plain_text_input's value without its own max_length
    suggestion_options: int = 100  # options (or option groups) answering a block_suggestion
    ack_seconds: float = 3.0  # Slack waits this long for an HTTP answer or a Socket Mode ack
    trigger_seconds: float = 3.0  # a trigger_id stays usable this long, once


LIMITS = Limits()


def token_kind(name: str) -> TokenKind:
    """The token a method takes (bot for a method not in the table)."""
    facts = METHODS.get(name)
    return facts.token if facts is not None else "bot"
