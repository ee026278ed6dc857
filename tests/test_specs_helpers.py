"""tests/specs.py catches real violations and passes Slack's own known-good views."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests import specs
from tests.published_specs import SDK_VIEWS

PLAIN = {"type": "plain_text", "text": "Connect"}


def modal(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    view = {"type": "modal", "title": PLAIN, "blocks": list(blocks) or [{"type": "divider"}]}
    return view | fields


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str, action_id: str = "go") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}


def test_required_params_come_from_the_table() -> None:
    assert specs.required_params("chat.postMessage") == {"channel"}
    assert specs.required_params("chat.postEphemeral") == {"channel", "user"}
    assert specs.required_params("views.open") == {"trigger_id", "view"}
    assert specs.required_params("users.lookupByEmail") == {"email"}
    assert specs.required_params("conversations.open") == set()  # users or channel: one_of
    assert specs.required_params("users.info") == {"user"}  # beyond what the OpenAPI flags
    assert specs.required_params("chat.postMesage") == set()  # not in the table


def test_check_call_reports_unknown_methods_missing_token_and_arguments() -> None:
    assert specs.check_call("chat.postMessage", {"channel": "C1", "text": "hi"}, "xoxb-1") == []
    assert specs.check_call("apps.connections.open", {}, "xapp-1") == []  # newer than the spec
    assert specs.check_call("chat.postMesage", {}, "xoxb-1") == ["unknown method 'chat.postMesage'"]
    assert specs.check_call("chat.postMessage", {"text": "hi"}, "xoxb-1") == [
        "missing required argument 'channel'"
    ]
    assert specs.check_call("chat.postMessage", {"channel": "", "text": "hi"}, None) == [
        "missing token",
        "missing required argument 'channel'",
    ]


def test_one_of_and_documented_extra_requirements() -> None:
    assert specs.check_call("conversations.open", {}, "t") == [
        "missing required argument 'users or channel'"
    ]
    assert specs.check_call("conversations.open", {"users": "U1"}, "t") == []
    assert specs.check_call("views.update", {"view": modal()}, "t") == [
        "missing required argument 'view_id or external_id'"
    ]
    assert specs.check_call("users.info", {}, "t") == ["missing required argument 'user'"]


def test_slack_sdk_fixture_views_pass(slack_specs: Path) -> None:
    """A cross-check: slack_sdk's own known-good modal and Home views (from Slack's specs)."""
    paths = sorted((slack_specs / SDK_VIEWS).glob("view_*.json"))
    assert len(paths) >= 10, paths
    checked = {p.name: specs.check_view(json.loads(p.read_text())) for p in paths}
    assert {name: problems for name, problems in checked.items() if problems} == {}


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (modal(title={"type": "plain_text", "text": "x" * 200}), "title must be between 1 and 24"),
        (modal(submit={"type": "plain_text", "text": "x" * 25}), "submit cannot exceed 24"),
        (modal(private_metadata="x" * 3001), "private_metadata cannot exceed 3000"),
        (modal(callback_id="x" * 256), "callback_id cannot exceed 255"),
        ({"type": "modal", "blocks": [{"type": "divider"}]}, "modal view without a title"),
        (modal(*[{"type": "divider"}] * 101), "between 1 and 100 blocks"),
        (modal(section("x" * 3001)), "text attribute cannot exceed 3000"),
        (modal({"type": "actions", "elements": [button("x" * 76)]}), "cannot exceed 75"),
        (modal({"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}), "150"),
        (modal({"type": "nonsense"}), "unknown block type"),
        (modal({"type": "actions", "elements": [{"type": "nonsense"}]}), "unknown element type"),
        (modal({"type": "input", "label": PLAIN}), "TypeError"),  # input without an element
        (modal({**section("a"), "block_id": "b"}, {**section("c"), "block_id": "b"}), "duplicate"),
        (modal(private_metadata=object()), "not JSON-serializable"),
        ("not a view", "view must be an object"),
    ],
)
def test_check_view_catches(view: Any, expected: str) -> None:
    problems = specs.check_view(view)
    assert any(expected in p for p in problems), problems


def test_check_view_accepts_the_limits_themselves() -> None:
    view = modal(
        section("x" * 3000),
        {"type": "actions", "elements": [button("x" * 75)]},
        title={"type": "plain_text", "text": "x" * 24},
        private_metadata="x" * 3000,
    )
    assert specs.check_view(view) == []
    assert specs.check_view(json.dumps(view)) == []  # as form-encoded calls send it


def test_check_blocks_limits_messages_to_50_blocks() -> None:
    assert specs.check_blocks([section("a")] * 50) == []
    assert specs.check_blocks([section("a")] * 51) == ["51 blocks (max 50)"]
    assert specs.check_blocks({"type": "section"}) == ["blocks must be a list, got dict"]


def test_check_message_needs_a_text_fallback_with_blocks() -> None:
    blocks = [section("Invitation sent")]
    assert specs.check_message({"channel": "C1", "text": "Invitation sent", "blocks": blocks}) == []
    assert specs.check_message({"channel": "C1", "text": "plain only"}) == []
    assert specs.check_message({"channel": "C1", "blocks": blocks}) == [specs.MISSING_TEXT_FALLBACK]
    assert specs.check_message({"channel": "C1", "text": " ", "blocks": json.dumps(blocks)}) == [
        specs.MISSING_TEXT_FALLBACK
    ]


def test_check_message_checks_blocks_sent_as_json_strings() -> None:
    problems = specs.check_message({"text": "t", "blocks": json.dumps([section("x" * 3001)])})
    assert len(problems) == 1
    assert "text attribute cannot exceed 3000 characters" in problems[0]
    assert specs.check_message({"text": "t", "blocks": "[not json"}) == [
        "blocks must be a list, got str"
    ]
