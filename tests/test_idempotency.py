"""One effect per intent: double clicks, resubmissions and Slack's retries, across replicas."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.clock import FakeClock
from storage.models import Connection, Invitation, LocalNodeConnection
from tests.harness import (
    WIZARD,
    Admin,
    RunningBot,
    World,
    at,
    db_rows,
    eventually,
    make_settings,
    start_bot,
)
from tests.slack_emulator import SlackEmulator


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"reminder_max": 1}


def code_in(thing: Any) -> str:
    text = json.dumps(thing)
    return text[text.index("EXA1-") : text.index("EXA1-") + 48]


async def to_review(bots: list[RunningBot], slack: SlackEmulator) -> tuple[str, dict[str, Any]]:
    admin = Admin(bots[0], slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD[:-1])
    return view_id, dict(slack.views[view_id])


async def double_initiate(bots: list[RunningBot], slack: SlackEmulator) -> list[Any]:
    """The admin clicks Initiate twice: two submissions of the same view, at once (to two
    replicas when there are two)."""
    view_id, review = await to_review(bots, slack)

    async def submit(bot: RunningBot) -> Any:
        slack.views[view_id] = dict(review)  # what Slack sent both times
        assert bot.sender is not None
        return await bot.sender.submit_view(view_id, {}, user_id="UADMIN")

    return await asyncio.gather(*(submit(bots[n % len(bots)]) for n in range(2)))


async def assert_one_effect(bot: RunningBot, slack: SlackEmulator, responses: list[Any]) -> None:
    codes = {code_in(r.json["view"]) for r in responses}
    assert len(codes) == 1, "both answers show the same code"
    assert len(await db_rows(bot, Connection)) == 1
    assert len(await db_rows(bot, Invitation)) == 1
    assert len(await db_rows(bot, LocalNodeConnection)) == 1
    await eventually(lambda: len(slack.messages) >= 2)
    await asyncio.sleep(0.2)  # anything doubled would show up by now
    dms = [m for m in slack.messages if m["channel"].startswith("D")]
    notices = [m for m in slack.messages if m["channel"] == "CNOTICE"]
    assert (len(dms), len(notices)) == (1, 2)  # the connection's card, and "Invitation sent"


async def test_a_double_clicked_initiate_initiates_once(world: World, slack: SlackEmulator) -> None:
    responses = await double_initiate([world.bot], slack)
    assert [r.json["response_action"] for r in responses] == ["update", "update"]
    await assert_one_effect(world.bot, slack, responses)


async def test_initiate_submitted_again_later_shows_the_same_code(
    world: World, slack: SlackEmulator
) -> None:
    view_id, review = await to_review([world.bot], slack)
    first = await world.sender.submit_view(view_id, {}, user_id="UADMIN")
    await eventually(lambda: len(slack.messages) == 3)  # the DM, the card, "Invitation sent"
    slack.views[view_id] = review  # a stale client sends the review again
    second = await world.sender.submit_view(view_id, {}, user_id="UADMIN")
    assert code_in(first.json["view"]) == code_in(second.json["view"])
    assert "first click" in json.dumps(second.json["view"])
    await assert_one_effect(world.bot, slack, [first, second])


@pytest.mark.postgres
async def test_a_double_click_across_two_replicas(
    slack: SlackEmulator, postgres_url: str, clock: FakeClock
) -> None:
    settings = make_settings(slack, postgres_url)
    bots = [await start_bot(slack, settings, clock=clock) for _ in range(2)]
    try:
        responses = await double_initiate(bots, slack)
        await assert_one_effect(bots[0], slack, responses)
    finally:
        for bot in bots:
            await bot.stop()


async def test_a_double_clicked_accept_accepts_once(world: World, slack: SlackEmulator) -> None:
    code = await world.initiate()
    await world.click("partner_accept", world.dms("UPARTNER")[0], "UPARTNER")
    modal = slack.calls_to("views.open")[-1].response["view"]
    values = {"code": code, "partner_project": "THEIRS"}

    async def submit() -> Any:
        slack.views[modal["id"]] = dict(modal)
        return await world.sender.submit_view(modal["id"], values, user_id="UPARTNER")

    responses = await asyncio.gather(submit(), submit())
    assert [r.json["response_action"] for r in responses] == ["update", "update"]
    await eventually(lambda: len(world.dms("UADMIN")) >= 2)
    await asyncio.sleep(0.2)
    # the acceptance, then what comes next: each once
    starts = [m["text"].startswith("What comes next") for m in world.dms("UADMIN")]
    assert starts == [False, True]
    assert sum("is active" in m["text"] for m in world.thread()) == 1
    assert sum("What comes next" in m["text"] for m in world.thread()) == 1
    assert await world.state() == ("ACTIVE", "REDEEMED")


async def test_a_double_clicked_resend_resends_once(world: World, slack: SlackEmulator) -> None:
    await world.initiate()
    await world.sweep(at(3, 14))
    await world.sweep(at(4, 14))  # reminder_max=1: the escalation
    [escalation] = world.dms("UADMIN")
    before = len(world.dms("UPARTNER"))
    await asyncio.gather(
        *(
            world.sender.click(action_id="admin_resend", message=escalation, user_id="UADMIN")
            for _ in range(2)
        )
    )
    await eventually(lambda: len(slack.responses) == 2)
    assert len(await db_rows(world.bot, Invitation)) == 2
    await asyncio.sleep(0.2)
    assert len(world.dms("UPARTNER")) == before + 1
    said = sorted(r["text"] for r in slack.responses)
    assert any("Resent with a fresh code" in t for t in said)
    assert any("already resent" in t for t in said)
    # the same button a day later: still once, it was for the invitation now replaced
    await world.click("admin_resend", escalation, "UADMIN")
    assert "already resent" in world.said()[-1]
    assert len(await db_rows(world.bot, Invitation)) == 2


async def test_a_double_clicked_cancel_cancels_once(world: World, slack: SlackEmulator) -> None:
    await world.initiate()
    question = (await world.sender.command("cancel acme_to_partnerco", user_id="UADMIN")).json
    message = {
        "channel": "C0GENERAL",
        "ts": "1.1",
        "text": question["text"],
        "blocks": question["blocks"],
    }
    await asyncio.gather(
        *(
            world.sender.click(action_id="cancel_confirm", message=message, user_id="UADMIN")
            for _ in range(2)
        )
    )
    await eventually(lambda: len(slack.responses) == 2)
    await asyncio.sleep(0.2)
    assert sum("withdrew" in m["text"] for m in world.dms("UPARTNER")) == 1
    assert await world.state() == ("CANCELLED", "REVOKED")


async def test_slack_retrying_an_event_has_one_effect(world: World, slack: SlackEmulator) -> None:
    event = {"type": "app_home_opened", "user": "UOTHER", "channel": "D1", "tab": "home"}
    first = await world.sender.event(event, event_id="Ev0RETRIED1")
    retry = await world.sender.event(event, event_id="Ev0RETRIED1", retry_num=1)
    assert (first.status, retry.status) == (200, 200)
    await eventually(lambda: slack.calls_to("views.publish"))
    await asyncio.sleep(0.2)
    assert len(slack.calls_to("views.publish")) == 1
    await world.sender.event(event, event_id="Ev0ANOTHER2")  # a new event still counts
    await eventually(lambda: len(slack.calls_to("views.publish")) == 2)
