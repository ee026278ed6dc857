"""Slack's refusals after the acknowledgement are expected (bot/slack/refusals.py): an expired
or invalid trigger, a user Slack can't find, a dead or missing response_url, a 429 or 5xx.
Each is met with what the person needs ("That took too long: run `/exalate accept` again")
or one warning line, never a traceback (the `logged` fixture fails on any record with
exc_info), and the bot goes on working."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from yarl import URL

from bot.devtools.slack_requests import SlackResponse, command_payload
from tests.harness import Admin, RunningBot, World, eventually, open_home
from tests.log_records import Records, no_tracebacks
from tests.slack_emulator import SlackEmulator

FORM = "application/x-www-form-urlencoded"

TRIGGER_REFUSALS = ["expired_trigger_id", "invalid_trigger_id"]
BUTTONS = [("partner_decline", "Decline"), ("partner_accept", "Accept")]


@pytest.fixture(autouse=True)
def logged() -> Iterator[Records]:
    """Every log record of the test; none may carry a traceback (exc_info)."""
    yield from no_tracebacks()


def gone(slack: SlackEmulator, n: int) -> str:
    """A response_url on the emulator's host (so the bot uses it) that nothing serves: 404."""
    return str(URL(slack.base_url).with_path(f"/gone/{n}"))


def banners(slack: SlackEmulator) -> str:
    return json.dumps([c.params.get("view") for c in slack.calls_to("views.publish")])


# --- an expired or invalid trigger -----------------------------------------------------------


@pytest.mark.parametrize("error", TRIGGER_REFUSALS)
async def test_exalate_accept_with_a_trigger_slack_refuses(
    world: World, slack: SlackEmulator, logged: Records, error: str
) -> None:
    slack.fail_next("views.open", error=error)
    response = await world.sender.command("accept", user_id="UPARTNER")
    assert response.status == 200
    [said] = await eventually(lambda: slack.responses)
    assert said["text"] == "That took too long: run `/exalate accept` again."
    assert said["response_type"] == "ephemeral"
    assert any(error in line for line in logged.warnings("bot.commands"))
    code = await world.initiate()  # and it works again
    assert (await world.accept_by_command("UPARTNER", code)).get("response_action") == "update"


@pytest.mark.parametrize("error", TRIGGER_REFUSALS)
async def test_exalate_connect_with_a_trigger_slack_refuses(
    world: World, slack: SlackEmulator, error: str
) -> None:
    slack.fail_next("views.open", error=error)
    assert (await world.sender.command("connect", user_id="UADMIN")).status == 200
    [said] = await eventually(lambda: slack.responses)
    assert said["text"] == "That took too long: run `/exalate connect` again."
    await Admin(world.bot, slack).connect()


@pytest.mark.parametrize("error", TRIGGER_REFUSALS)
@pytest.mark.parametrize(
    ("action", "button"), [("partner_decline", "Decline"), ("partner_accept", "Accept")]
)
async def test_decline_and_accept_with_a_trigger_slack_refuses(
    world: World, slack: SlackEmulator, error: str, action: str, button: str
) -> None:
    await world.initiate()
    slack.fail_next("views.open", error=error)
    said = len(slack.responses)
    await world.click(action, world.dms("UPARTNER")[0], "UPARTNER")
    await eventually(lambda: len(slack.responses) > said)
    assert slack.responses[-1]["text"] == f"That took too long: click *{button}* again."
    await world.click(action, world.dms("UPARTNER")[0], "UPARTNER")  # the next click opens it
    await eventually(lambda: not slack.calls_to("views.open")[-1].failed)


@pytest.mark.parametrize("error", TRIGGER_REFUSALS)
async def test_new_connection_on_home_with_a_trigger_slack_refuses(
    world: World, slack: SlackEmulator, error: str
) -> None:
    home = await open_home(world, "UADMIN")
    slack.fail_next("views.open", error=error)
    published = len(slack.calls_to("views.publish"))
    response = await world.sender.click(
        action_id="home_connect", view_id=home["id"], user_id="UADMIN"
    )
    assert response.status == 200
    await eventually(lambda: len(slack.calls_to("views.publish")) > published)
    assert "That took too long: click *New connection* again." in banners(slack)


# --- a user Slack can't find -----------------------------------------------------------------


@pytest.mark.parametrize("action", ["home_connect", "home_remind"])
@pytest.mark.parametrize("publish_fails", [False, True], ids=["home_shown", "home_refused_too"])
async def test_home_buttons_when_slack_cant_find_the_user(
    world: World, slack: SlackEmulator, logged: Records, action: str, publish_fails: bool
) -> None:
    await world.initiate()
    home = await open_home(world, "UADMIN")
    slack.fail_next("users.info", error="user_not_found")
    if publish_fails:
        slack.fail_next("views.publish", error="user_not_found")
    published, opened = len(slack.calls_to("views.publish")), len(slack.calls_to("views.open"))
    # UOTHER's role isn't known yet: the click asks users.info, which says user_not_found
    response = await world.sender.click(
        action_id=action, view_id=home["id"], user_id="UOTHER", value="1"
    )
    assert response.status == 200
    await eventually(lambda: len(slack.calls_to("views.publish")) > published)
    if publish_fails:
        await eventually(lambda: any("user_not_found" in w for w in logged.warnings("bot")))
    else:
        assert "couldn't check who may do that" in banners(slack)
    assert len(slack.calls_to("views.open")) == opened


async def test_home_opened_when_publishing_fails(
    world: World, slack: SlackEmulator, logged: Records
) -> None:
    for fault in ({"status": 503}, {"error": "user_not_found"}, {"status": 429, "retry_after": 0}):
        slack.fail_next("views.publish", **fault)
        before = len(slack.calls_to("views.publish"))
        event = {"type": "app_home_opened", "user": "UADMIN", "channel": "D0HOME", "tab": "home"}
        assert (await world.sender.event(event)).status == 200
        await eventually(lambda n=before: len(slack.calls_to("views.publish")) > n)
    await eventually(lambda: len(logged.warnings("bot.slack.listeners")) >= 3)
    await open_home(world, "UADMIN")  # and Slack is back


# --- respond() to a missing, refusing or foreign response_url -----------------------------------


def list_click_without_response_url(slack: SlackEmulator, **extra: Any) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "T0001"},
        "user": {"id": "UADMIN", "team_id": "T0001"},
        "trigger_id": slack.issue_trigger_id(),
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0GENERAL"},
        "actions": [{"action_id": "list_page_older", "type": "button", "value": "{}"}],
        **extra,
    }


async def post(bot: RunningBot, payload: dict[str, Any]) -> SlackResponse:
    assert bot.sender is not None
    response = await bot.sender.post(urlencode({"payload": json.dumps(payload)}), FORM)
    assert response.status == 200, (response.status, response.text[:300])
    return response


@pytest.mark.parametrize(
    ("response_url", "warning"),
    [
        pytest.param(None, "no usable response_url", id="missing"),
        pytest.param("https://evil.example/hook", "no usable response_url", id="not_slacks"),
        pytest.param("not a url", "no usable response_url", id="not_a_url"),
        pytest.param("{gone}", "HTTP 404", id="dead"),
    ],
)
async def test_respond_to_a_missing_or_bad_response_url(
    world: World, slack: SlackEmulator, logged: Records, response_url: str | None, warning: str
) -> None:
    extra = {}
    if response_url is not None:  # "dead": the emulator's host, a path it doesn't serve
        extra["response_url"] = response_url.replace("{gone}", gone(slack, 1))
    await post(world.bot, list_click_without_response_url(slack, **extra))
    await eventually(lambda: any(warning in w for w in logged.warnings("bot.slack.middleware")))
    assert slack.responses == []


async def test_a_command_whose_response_url_is_dead(
    world: World, slack: SlackEmulator, logged: Records
) -> None:
    code = await world.initiate()
    del code
    payload = command_payload(
        text="resend acme_to_partnerco",
        user_id="UADMIN",
        trigger_id=slack.issue_trigger_id(),
        response_url=gone(slack, 2),
    )
    assert world.bot.sender is not None
    response = await world.bot.sender.post(urlencode(payload), FORM)
    assert response.status == 200
    await eventually(lambda: any("HTTP 404" in w for w in logged.warnings("bot.slack.middleware")))
    # the resend itself went ahead: a fresh code's DM
    await eventually(lambda: len(world.dms("UPARTNER")) >= 2)
