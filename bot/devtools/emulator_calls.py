"""The Slack emulator's vocabulary: the calls it records, the faults it injects, its error
answers, and the checker it asks about each call (tests/specs.py is one; NoChecks checks
nothing)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.devtools.slack_facts import MESSAGE_METHODS as MESSAGE_METHODS

JsonDict = dict[str, Any]
JSON_PARAMS = ("view", "blocks", "attachments", "metadata", "files")


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
    team_id: str | None = None  # the workspace that answered (None: no workspace's token)
    basic_auth: tuple[str, str] | None = None  # (user, password) of HTTP Basic auth, if sent


@dataclass
class Fault:
    error: str | None
    status: int
    retry_after: int | None
    delay: float
    team_id: str | None = None  # only for calls this workspace answers (None: any call)


def error_body(error: str, *messages: str) -> JsonDict:
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
        self.body = error_body(error, *messages)
