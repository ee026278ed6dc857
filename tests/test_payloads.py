"""One typed reading of each payload (bot/slack/reading.py, read once at the edge by
bot/slack/middleware.py): the fuzz's examples of signed but malformed payloads, end to end over
HTTP. Each is answered 200 (never a 5xx), logs no record with a traceback (the `logged`
fixture), and tells the person "I couldn't read that request" where there is a way to:
the command's acknowledgement, the modal, the response_url; else one warning line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.devtools.slack_requests import (
    SlackResponse,
    block_actions_payload,
    block_suggestion_payload,
    command_payload,
    event_callback_payload,
    view_submission_payload,
)
from bot.invitations.ids import InvitationIds
from bot.slack.reading import (
    UNREADABLE,
    BlockActions,
    Command,
    Event,
    Unreadable,
    ViewSubmission,
    read,
)
from bot.wizard.metadata import WizardMetadata
from bot.wizard.review import build_result_view
from tests.harness import WIZARD, Admin, RunningBot, World, eventually
from tests.log_records import Records, no_tracebacks
from tests.slack_emulator import SlackEmulator

FORM = "application/x-www-form-urlencoded"
LIST_BUTTON = {
    "type": "button",
    "action_id": "list_page_older",
    "text": {"type": "plain_text", "text": "Older ▶"},
    "value": "{}",
}
MESSAGE = {
    "channel": "C0GENERAL",
    "ts": "1.1",
    "text": "list",
    "blocks": [{"type": "actions", "block_id": "list_pages", "elements": [LIST_BUTTON]}],
}


@pytest.fixture(autouse=True)
def logged() -> Iterator[Records]:
    """Every log record of the test; none may carry a traceback (exc_info)."""
    yield from no_tracebacks()


def who(slack: SlackEmulator, user: str) -> dict[str, Any]:
    return {"user_id": user, "team_id": "T0001", "api_app_id": slack.app_id}


async def post(bot: RunningBot, payload: Any) -> SlackResponse:
    assert bot.sender is not None
    response = await bot.sender.post(urlencode({"payload": json.dumps(payload)}), FORM)
    assert response.status == 200, (response.status, response.text[:300])
    assert "Traceback" not in response.text
    return response


def said_unreadable_in_the_modal(response: SlackResponse) -> None:
    body = response.json or {}
    assert body.get("response_action") == "update", body
    assert UNREADABLE in json.dumps(body["view"]), body


# --- view_submission ------------------------------------------------------------------------


async def test_a_view_submission_with_an_empty_user(
    bot: RunningBot, slack: SlackEmulator, logged: Records
) -> None:
    view_id = await Admin(bot, slack).connect()
    payload = view_submission_payload(
        slack.views[view_id], WIZARD[0], trigger_id=slack.issue_trigger_id(), **who(slack, "UADMIN")
    )
    payload["user"] = {}
    said_unreadable_in_the_modal(await post(bot, payload))
    [line] = logged.warnings("bot.slack.middleware")
    assert line == "refused a request (view_submission): user.id (missing)"
    await Admin(bot, slack).walk(view_id, WIZARD[0])  # the real one still works


@pytest.mark.parametrize("callback", ["exalate_wizard", InvitationIds.ACCEPT_VIEW])
async def test_a_view_submission_without_state(
    bot: RunningBot, slack: SlackEmulator, logged: Records, callback: str
) -> None:
    payload = {
        "type": "view_submission",
        "team": {"id": "T0001"},
        "user": {"id": "UPARTNER", "team_id": "T0001"},
        "trigger_id": slack.issue_trigger_id(),
        "view": {"id": "V00000042", "type": "modal", "callback_id": callback, "blocks": []},
    }
    said_unreadable_in_the_modal(await post(bot, payload))
    assert logged.warnings("bot.slack.middleware") == [
        "refused a request (view_submission): view.state (missing)"
    ]


# --- block_actions and block_suggestion -----------------------------------------------------


def list_click(slack: SlackEmulator, **changes: Any) -> dict[str, Any]:
    payload = block_actions_payload(
        action_id="list_page_older",
        trigger_id=slack.issue_trigger_id(),
        message=MESSAGE,
        response_url=slack.response_url(),
        **who(slack, "UADMIN"),
    )
    return payload | changes


@pytest.mark.parametrize(
    "actions",
    [
        pytest.param([{}], id="an_empty_action"),
        pytest.param([{"action_id": 7, "type": "button"}], id="action_id_7"),
        pytest.param([], id="no_action"),
    ],
)
async def test_block_actions_that_no_matcher_can_read(
    bot: RunningBot, slack: SlackEmulator, logged: Records, actions: Any
) -> None:
    """Bolt's `^list_page_` matcher raised on action_id 7; now the edge answers first, on
    the response_url: the person is told."""
    await post(bot, list_click(slack, actions=actions))
    [reply] = await eventually(lambda: slack.responses)
    assert reply["text"] == UNREADABLE and reply["response_type"] == "ephemeral"
    [line] = logged.warnings("bot.slack.middleware")
    assert line.startswith("refused a request (block_actions): actions")


async def test_block_actions_without_a_response_url_get_a_warning_line(
    bot: RunningBot, slack: SlackEmulator, logged: Records
) -> None:
    payload = list_click(slack, actions=[{"action_id": 7}])
    del payload["response_url"]
    response = await post(bot, payload)
    assert response.text == ""
    assert len(logged.warnings("bot.slack.middleware")) == 1
    assert slack.responses == []


async def test_a_response_url_that_is_not_slacks_is_never_posted_to(
    bot: RunningBot, slack: SlackEmulator, logged: Records
) -> None:
    payload = list_click(slack, actions=[{}], response_url="https://evil.example/hook")
    await post(bot, payload)
    assert slack.responses == []
    assert len(logged.warnings("bot.slack.middleware")) == 1


async def test_a_block_suggestion_with_a_huge_number_for_action_id(
    bot: RunningBot, slack: SlackEmulator, logged: Records
) -> None:
    view = {"id": "V00000042", "type": "modal", "callback_id": "exalate_wizard"}
    payload = {
        "type": "block_suggestion",
        "team": {"id": "T0001"},
        "user": {"id": "UADMIN", "team_id": "T0001"},
        "action_id": -(10**30),
        "block_id": "project_key",
        "value": "SU",
        "view": view,
    }
    response = await post(bot, payload)
    assert response.json == {"options": []}
    [line] = logged.warnings("bot.slack.middleware")
    assert line == "refused a request (block_suggestion): action_id (string_type)"


async def test_a_real_block_suggestion_still_reads(bot: RunningBot, slack: SlackEmulator) -> None:
    view = {
        "id": "V00000042",
        "type": "modal",
        "callback_id": "exalate_wizard",
        "blocks": [
            {
                "type": "input",
                "block_id": "project_key",
                "element": {"type": "external_select", "action_id": "project_key"},
            }
        ],
    }
    payload = block_suggestion_payload(
        view, action_id="project_key", block_id="project_key", value="", **who(slack, "UADMIN")
    )
    response = await post(bot, payload)
    assert isinstance((response.json or {}).get("options"), list)


# --- events and commands --------------------------------------------------------------------


async def test_an_event_id_with_a_lone_surrogate(
    bot: RunningBot, slack: SlackEmulator, logged: Records
) -> None:
    event = {"type": "app_home_opened", "user": "UADMIN", "channel": "D0HOME", "tab": "home"}
    payload = event_callback_payload(event, event_id="Ev\ud800", team_id="T0001")
    body = json.dumps(payload)  # ASCII: the surrogate travels as the escape \ud800
    assert "\\ud800" in body
    assert bot.sender is not None
    response = await bot.sender.post(body, "application/json")
    assert response.status == 200, response.text[:300]
    assert slack.calls_to("views.publish") == []
    [line] = logged.warnings("bot.slack.middleware")
    assert line.startswith("refused a request (event_callback):")
    assert "\ud800" not in line


async def test_a_json_command_whose_text_is_a_number(bot: RunningBot, logged: Records) -> None:
    assert bot.sender is not None
    body = json.dumps({"command": "/exalate", "text": 1})
    response = await bot.sender.post(body, "application/json")
    assert response.status == 200, response.text[:300]
    assert response.json == {"response_type": "ephemeral", "text": UNREADABLE}
    [line] = logged.warnings("bot.slack.middleware")
    assert line.startswith("refused a request (slash_command):")


async def test_connect_with_a_team_id_over_3000_characters(
    bot: RunningBot, slack: SlackEmulator, logged: Records
) -> None:
    """It went into the wizard's private_metadata, and views.open failed: now the id's shape
    is checked at the edge, and nothing unchecked reaches a view."""
    payload = command_payload(
        text="connect",
        user_id="UADMIN",
        trigger_id=slack.issue_trigger_id(),
        response_url=slack.response_url(),
        team_id="T" + "A" * 3001,
    )
    assert bot.sender is not None
    response = await bot.sender.post(urlencode(payload), FORM)
    assert response.status == 200
    assert response.json == {"response_type": "ephemeral", "text": UNREADABLE}
    assert slack.calls_to("views.open") == []
    assert logged.warnings("bot.slack.middleware") == [
        "refused a request (slash_command): team_id (string_pattern_mismatch)"
    ]


# --- metadata: built from checked parts, refused when forged or stale -------------------------


def test_wizard_metadata_takes_only_ids_of_slacks_shape() -> None:
    assert WizardMetadata.decode('{"step":"mode","team":"T0001","user":"UADMIN"}') is not None
    for team in ("T" + "A" * 3000, "t0001", "X0001", "T0001\ud800"):
        text = json.dumps({"step": "mode", "team": team, "user": "UADMIN", "answers": {}})
        assert WizardMetadata.decode(text) is None, team[:20]


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        pytest.param('{"step":"mode","team":"T' + "A" * 50 + '","user":"UADMIN"}', "no longer"),
        pytest.param('{"step":"mode","user":"' + "U" * 2900 + '"}', "no longer"),
        pytest.param("x" * 3001, UNREADABLE),  # longer than Slack keeps: forged
    ],
    ids=["team_id_50_characters", "user_id_2900_characters", "over_3000_characters"],
)
async def test_forged_wizard_metadata_is_refused_with_a_clear_message(
    bot: RunningBot, slack: SlackEmulator, metadata: str, expected: str
) -> None:
    view_id = await Admin(bot, slack).connect()
    view = slack.views[view_id] | {"private_metadata": metadata}
    payload = view_submission_payload(
        view, WIZARD[0], trigger_id=slack.issue_trigger_id(), **who(slack, "UADMIN")
    )
    response = await post(bot, payload)
    assert (response.json or {}).get("response_action") == "update"
    assert expected in json.dumps(response.json)


def test_the_result_view_builds_from_any_answers() -> None:
    for answers in ({}, {"partner_user_id": "<!channel>"}, {"connection_name": "n" * 5000}):
        view = build_result_view(answers, code="EXA1-CODE")
        text = json.dumps(view)
        assert "EXA1-CODE" in text and "<!channel>" not in text
        assert len(view["private_metadata"]) <= 3000


async def test_an_unparseable_metadata_on_the_result_view(
    world: World, slack: SlackEmulator
) -> None:
    """The wizard's last view, submitted again with metadata that doesn't parse (or that
    parses but holds none of the answers) is answered, not a KeyError in build_result_view."""
    await world.initiate()
    [view_id] = [v for v, view in slack.views.items() if "EXA1-" in json.dumps(view)]
    result = slack.views[view_id]
    review = WizardMetadata(step="review", team="T0001", user="UADMIN", answers={}).encode()
    for metadata in ("not json", '{"step": "result"', review):
        view = result | {"private_metadata": metadata}
        payload = view_submission_payload(
            view, {}, trigger_id=slack.issue_trigger_id(), **who(slack, "UADMIN")
        )
        response = await post(world.bot, payload)
        assert (response.json or {}).get("response_action") in ("update", "errors"), metadata


# --- the reading itself ---------------------------------------------------------------------


def test_read_gives_the_typed_parts() -> None:
    command = read({"command": "/exalate", "text": "list", "user_id": "UADMIN", "team_id": "T1X"})
    assert isinstance(command, Command) and command.user_id == "UADMIN"
    clicked = read(
        {
            "type": "block_actions",
            "user": {"id": "W012ABC", "team_id": "E0ORG"},
            "actions": [{"action_id": "home_remind", "value": "3"}],
        }
    )
    assert isinstance(clicked, BlockActions)
    assert (clicked.team_id, clicked.action.value) == ("E0ORG", "3")
    event = read(
        {"type": "event_callback", "team_id": "T0001", "event_id": "Ev1AB", "event": {"type": "x"}}
    )
    assert isinstance(event, Event) and event.user_id is None
    assert read({"type": "url_verification", "challenge": "x"}) is None


@pytest.mark.parametrize(
    "body",
    [
        {"type": "block_actions", "user": {"id": "UADMIN"}, "actions": [{"action_id": "x"}]},
        {"type": "view_submission", "team": {"id": "T1X"}, "user": {"id": "u"}, "view": {}},
        {"type": "view_closed", "team": {"id": "T1X"}, "user": {"id": "UADMIN"}},
        {"type": "event_callback", "team_id": "T0001", "event_id": "Ev1", "event": "x"},
        {"command": "/exalate", "user_id": "UADMIN", "team_id": "T0001", "trigger_id": "a b"},
        {"command": "/exalate", "user_id": "UADMIN", "team_id": "T0001", "channel_id": "#x"},
    ],
    ids=["no_team", "user_id_lowercase", "no_view", "event_not_an_object", "trigger", "channel"],
)
def test_read_refuses_what_slack_never_sends(body: dict[str, Any]) -> None:
    with pytest.raises(Unreadable) as refused:
        read(body)
    for value in ("a b", "#x", '"u"'):
        assert value not in str(refused.value)


def test_a_submission_reading_keeps_only_the_checked_view() -> None:
    submitted = read(
        {
            "type": "view_submission",
            "team": {"id": "T0001"},
            "user": {"id": "UADMIN"},
            "view": {"id": "V0001", "callback_id": "c", "state": {"values": {}}, "odd": 1},
        }
    )
    assert isinstance(submitted, ViewSubmission)
    assert "odd" not in submitted.view.as_dict()
    assert submitted.view.values == {}


# --- any body at all: a reading, None, or Unreadable (never another exception) ----------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
IDS = st.sampled_from(["T0001", "UADMIN", "V0001", "Ev1AB", "x", "", "U" * 40, "T\ud800"]) | JSON
SHAPED = st.fixed_dictionaries({"id": IDS}, optional={"team_id": IDS}) | JSON
FIELDS: dict[str, Any] = {
    "user": SHAPED,
    "team": SHAPED,
    "view": st.fixed_dictionaries(
        {"id": IDS}, optional={"state": JSON, "blocks": JSON, "private_metadata": JSON}
    )
    | JSON,
    "actions": st.lists(st.fixed_dictionaries({}, optional={"action_id": IDS, "value": JSON}))
    | JSON,
    "trigger_id": IDS,
    "response_url": JSON,
    "text": JSON,
    "user_id": IDS,
    "team_id": IDS,
    "event_id": IDS,
    "event": st.fixed_dictionaries({}, optional={"type": IDS, "user": IDS, "tab": JSON}) | JSON,
    "action_id": IDS,
    "value": JSON,
}
KINDS = ["block_actions", "view_submission", "view_closed", "block_suggestion", "event_callback"]
BODIES = st.fixed_dictionaries(
    {}, optional={"type": st.sampled_from(KINDS) | JSON, "command": IDS, **FIELDS}
)


@settings(max_examples=400, deadline=None)
@given(BODIES)
def test_read_gives_a_reading_none_or_unreadable(body: dict[str, Any]) -> None:
    try:
        payload = read(body)
    except Unreadable as refused:
        assert 0 < len(str(refused)) <= 300
        return
    if payload is not None and not isinstance(payload, Event):
        assert 0 < len(payload.team_id) <= 21 and 0 < len(payload.user_id) <= 21
