"""The project's table of Slack's facts (bot/devtools/slack_facts.py): against Slack's published
OpenAPI spec (cross-checks, which need the specs: tests/published_specs.py), against the code
(every method the bot calls and the emulator answers is in it), against slack_sdk's models (the
limits it states are those the checks enforce); and whether a cross-check runs, skips or fails.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.devtools.slack_emulator import SlackEmulator
from bot.devtools.slack_facts import LIMITS, METHODS
from tests import specs
from tests.published_specs import (
    NEEDED,
    OPENAPI,
    ROOT,
    Verdict,
    in_ci,
    need_specs,
    spec_problem,
    specs_dir,
)

PLAIN = {"type": "plain_text", "text": "Connect"}
# `client.chat_postMessage(`: a Web API call through slack_sdk's client
CLIENT_CALL = re.compile(r"\bclient\.([a-z]+(?:_[A-Za-z]+)+)\(")
API_CALL = re.compile(r"\.api_call\(\s*\"([a-zA-Z.]+)\"")


@pytest.fixture(scope="module")
def openapi(slack_specs: Path) -> dict[str, Any]:
    """The OpenAPI spec's methods, each with its parameters and the names it flags required."""
    paths = json.loads((slack_specs / OPENAPI).read_text())["paths"]
    found = {}
    for path, verbs in paths.items():
        parameters = [p for op in verbs.values() for p in op.get("parameters", [])]
        names = {p["name"] for p in parameters} - {"token"}
        required = {p["name"] for p in parameters if p.get("required")} - {"token"}
        found[path.removeprefix("/")] = {"parameters": names, "required": required}
    return found


# -- cross-checks against Slack's published OpenAPI spec ----------------------------------------


def test_every_method_in_the_table_is_in_the_openapi(openapi: dict[str, Any]) -> None:
    missing = sorted(m for m, f in METHODS.items() if not f.newer_than_spec and m not in openapi)
    assert missing == []
    newer_yet_there = sorted(m for m, f in METHODS.items() if f.newer_than_spec and m in openapi)
    assert newer_yet_there == []


def test_required_arguments_match_the_openapi(openapi: dict[str, Any]) -> None:
    """The table's required arguments are the spec's `required: true` ones plus its documented
    extras (`beyond_spec`, which the spec must indeed not flag); every argument the table names
    is a parameter of the method in the spec."""
    wrong = {}
    for name, facts in METHODS.items():
        spec = openapi.get(name)
        if facts.newer_than_spec or spec is None:  # the test above reports a missing one
            continue
        problems = []
        if facts.required - facts.beyond_spec != spec["required"]:
            problems.append(f"spec requires {sorted(spec['required'])}")
        if facts.beyond_spec & spec["required"]:
            problems.append(f"beyond_spec {sorted(facts.beyond_spec & spec['required'])} flagged")
        if unknown := (facts.required | set(facts.one_of)) - spec["parameters"]:
            problems.append(f"not parameters in the spec: {sorted(unknown)}")
        if problems:
            wrong[name] = problems
    assert wrong == {}


# -- the table against itself, the code and slack_sdk (no specs needed) -------------------------


def test_the_table_is_consistent() -> None:
    for name, facts in METHODS.items():
        assert facts.beyond_spec <= facts.required, name
        assert not set(facts.one_of) & facts.required, name
        assert len(facts.one_of) != 1, name
        if facts.beyond_spec or facts.newer_than_spec or facts.one_of:
            assert facts.note, f"{name}: say where Slack documents it"


def _called_methods() -> dict[str, str]:
    """Web API methods the bot's code calls, each with a place that calls it."""
    found = {}
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]):
        if "devtools" in path.parts:
            continue
        text = path.read_text()
        for attribute in CLIENT_CALL.findall(text):
            if hasattr(AsyncWebClient, attribute):
                found.setdefault(attribute.replace("_", "."), str(path.relative_to(ROOT)))
        for method in API_CALL.findall(text):
            found.setdefault(method, str(path.relative_to(ROOT)))
    return found


def test_every_method_the_bot_calls_is_in_the_table() -> None:
    called = _called_methods()
    assert {"chat.postMessage", "views.open", "users.lookupByEmail"} <= set(called)
    assert {m: where for m, where in called.items() if m not in METHODS} == {}
    # Bolt's own calls: the token check at start, opening Socket Mode's WebSocket, and the
    # OAuth flow's code exchange
    assert {"auth.test", "apps.connections.open", "oauth.v2.access"} <= set(METHODS)


def test_every_method_the_emulator_answers_is_in_the_table() -> None:
    assert set(SlackEmulator().handlers) - set(METHODS) == set()


def _modal(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    view = {"type": "modal", "title": PLAIN, "blocks": list(blocks) or [{"type": "divider"}]}
    return view | fields


def _text(kind: str, n: int) -> dict[str, Any]:
    return {"type": kind, "text": "x" * n}


# limit -> a view of that many (characters, blocks); the table's number must be where the
# checks (slack_sdk's models, run by tests/specs.py, or specs.py itself) draw the line
VIEWS_AT = {
    "view_title": lambda n: _modal(title=_text("plain_text", n)),
    "private_metadata": lambda n: _modal(private_metadata="x" * n),
    "callback_id": lambda n: _modal(callback_id="x" * n),
    "section_text": lambda n: _modal({"type": "section", "text": _text("mrkdwn", n)}),
    "header_text": lambda n: _modal({"type": "header", "text": _text("plain_text", n)}),
    "button_text": lambda n: _modal(
        {
            "type": "actions",
            "elements": [{"type": "button", "text": _text("plain_text", n), "action_id": "a"}],
        }
    ),
    "view_blocks": lambda n: _modal(*[{"type": "divider"}] * n),
}


@pytest.mark.parametrize("limit", sorted(VIEWS_AT))
def test_the_checks_draw_the_line_at_the_tables_limit(limit: str) -> None:
    at = getattr(LIMITS, limit)
    assert specs.check_view(VIEWS_AT[limit](at)) == []
    assert specs.check_view(VIEWS_AT[limit](at + 1)) != []


def test_messages_are_held_to_the_tables_block_limit() -> None:
    block = {"type": "section", "text": _text("mrkdwn", 1)}
    assert specs.check_blocks([block] * LIMITS.message_blocks) == []
    assert specs.check_blocks([block] * (LIMITS.message_blocks + 1)) != []


# -- run, skip or fail: the decision the cross-checks take --------------------------------------


def _complete_specs(folder: Path) -> Path:
    for name in NEEDED:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("{}")
    return folder


def test_with_the_specs_the_cross_checks_run(tmp_path: Path) -> None:
    complete = _complete_specs(tmp_path)
    assert spec_problem(complete, ci=False) == Verdict("run")
    assert spec_problem(complete, ci=True) == Verdict("run")


def test_without_the_specs_they_skip_saying_how_to_get_them_and_fail_under_ci(
    tmp_path: Path,
) -> None:
    absent = tmp_path / "nowhere"
    skip = spec_problem(absent, ci=False)
    assert skip.action == "skip"
    assert f"Slack's specs not found at {absent}" in skip.reason
    assert "set SLACK_SPECS_DIR to a folder with slack_web_openapi_v2.json" in skip.reason
    assert "(see README)" in skip.reason
    assert spec_problem(absent, ci=True) == Verdict("fail", skip.reason)


def test_incomplete_specs_name_what_is_missing(tmp_path: Path) -> None:
    _complete_specs(tmp_path)
    (tmp_path / OPENAPI).unlink()
    verdict = spec_problem(tmp_path, ci=False)
    assert verdict.action == "skip"
    assert f"incomplete at {tmp_path} (missing {OPENAPI})" in verdict.reason


def test_where_the_specs_are_looked_for_and_what_counts_as_ci(tmp_path: Path) -> None:
    assert specs_dir({"SLACK_SPECS_DIR": str(tmp_path)}) == tmp_path
    assert specs_dir({}) == ROOT.parent / "shared" / "specs"
    assert specs_dir({"SLACK_SPECS_DIR": ""}) == ROOT.parent / "shared" / "specs"
    assert [in_ci({"CI": v}) for v in ("true", "True", "1", "false", "0", "")] == [
        True,
        True,
        True,
        False,
        False,
        False,
    ]
    assert in_ci({}) is False


def test_need_specs_skips_or_fails_the_test_that_asks(tmp_path: Path) -> None:
    absent = {"SLACK_SPECS_DIR": str(tmp_path / "nowhere")}
    with pytest.raises(pytest.skip.Exception, match="set SLACK_SPECS_DIR"):
        need_specs(absent)
    with pytest.raises(pytest.fail.Exception, match="set SLACK_SPECS_DIR"):
        need_specs(absent | {"CI": "true"})
    present = {"SLACK_SPECS_DIR": str(_complete_specs(tmp_path)), "CI": "true"}
    assert need_specs(present) == tmp_path
