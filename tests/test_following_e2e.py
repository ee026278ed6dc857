"""Messages that follow the invitation (issue 17), end to end over HTTP: the partner's DMs
edited in place (only the newest pending one keeps its buttons; once the invitation ends,
every one says how), and the connection's status card in the channel, edited on each change,
its thread thinned by EXALATE_THREAD_REPLIES=milestones. Every edit passes the emulator's
Block Kit checks (the session's teardown asserts it found no problem)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from storage.models import Outbox
from tests.harness import MONDAY, World, at, db_rows, eventually


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"reminder_max": 2, "slack_timeout": "1s"}


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message)


def closed(world: World) -> list[str]:
    """What each of the partner's DMs says it came to, in the order they were sent."""
    return [dm["blocks"][0]["text"]["text"] for dm in world.dms("UPARTNER")]


async def test_after_two_reminders_only_the_newest_dm_has_buttons(world: World) -> None:
    code = await world.initiate()
    await world.sweep(at(3, 14))
    await world.sweep(at(4, 14))
    first, reminder1, reminder2 = world.dms("UPARTNER")
    assert world.with_buttons("UPARTNER") == [reminder2]
    assert "Reminder 2 of 2" in reminder2["text"]
    # the earlier ones point to the newest; the first DM keeps its code: it still works
    assert "newer reminder" in text_of(reminder1) and "Reminder 1" in text_of(reminder1)
    assert code in text_of(first) and "The code above still works" in text_of(first)
    assert first.get("edited") and reminder1.get("edited")
    # the card: where it stands, and the reminders so far
    card = world.card()
    assert "Pending: waiting for the partner" in card["text"]
    assert "2 of 2 sent" in text_of(card) and code not in text_of(card)
    assert len(world.slack.calls_to("chat.postMessage")) == len(world.slack.messages)


async def test_after_acceptance_no_dm_has_buttons_and_the_card_says_active(world: World) -> None:
    code = await world.initiate()
    await world.sweep(at(3, 14))
    world.clock.set(at(4, 15))
    await world.click("partner_accept", world.with_buttons("UPARTNER")[-1], "UPARTNER")
    assert (await world.accept_modal("UPARTNER", code))["response_action"] == "update"
    await eventually(lambda: "Active" in world.card()["text"])
    await eventually(lambda: world.with_buttons("UPARTNER") == [])
    first, reminder = world.dms("UPARTNER")[:2]
    assert "You accepted this invitation on <!date^" in text_of(first)
    assert code not in text_of(first) and "No longer works: it was used to accept" in text_of(first)
    assert "You accepted this invitation" in text_of(reminder)
    assert code not in text_of(world.card()) and "acme_to_partnerco" in world.card()["text"]
    await eventually(lambda: "What comes next" in world.thread()[-1]["text"])
    assert "accepted by <@UPARTNER>" in world.thread()[-2]["text"]  # the history stays


async def test_expiry_then_resend_the_old_dm_says_its_code_was_replaced(world: World) -> None:
    old_code = await world.initiate()
    await world.sweep(MONDAY + timedelta(days=14))
    old = world.dms("UPARTNER")[0]
    assert "This invitation expired" in text_of(old) and old_code not in text_of(old)
    assert "Expired" in world.card()["text"]
    [admin_dm] = world.dms("UADMIN")
    await world.click("admin_resend", admin_dm, "UADMIN")
    await eventually(lambda: len(world.with_buttons("UPARTNER")) == 1)
    [new] = world.with_buttons("UPARTNER")
    assert "EXA1-" in text_of(new) and old_code not in text_of(new)
    first = world.dms("UPARTNER")[0]
    assert "replaced by a new one" in text_of(first) and old_code not in text_of(first)
    await eventually(lambda: "Pending" in world.card()["text"])


async def test_a_decline_closes_every_dm(world: World) -> None:
    await world.initiate()
    await world.sweep(at(3, 14))
    await world.click("partner_decline", world.with_buttons("UPARTNER")[-1], "UPARTNER")
    view = world.slack.calls_to("views.open")[-1].response["view"]
    await world.sender.submit_view(view["id"], {"reason": "not for us"}, user_id="UPARTNER")
    await eventually(lambda: world.with_buttons("UPARTNER") == [])
    assert all("You declined this invitation" in line for line in closed(world))
    await eventually(lambda: "Declined" in world.card()["text"])


async def test_a_cancel_closes_every_dm(world: World) -> None:
    await world.initiate()
    for day in (3, 4, 5):
        await world.sweep(at(day, 14))
    [escalation] = world.dms("UADMIN")
    await world.click("admin_cancel", escalation, "UADMIN")
    await eventually(lambda: "withdrew" in world.dms("UPARTNER")[-1]["text"])
    await eventually(lambda: world.with_buttons("UPARTNER") == [])
    invitation_and_reminders = closed(world)[:3]
    assert all("This invitation was cancelled" in line for line in invitation_and_reminders)
    await eventually(lambda: "Cancelled" in world.card()["text"])


async def test_a_card_slack_cant_find_is_posted_afresh(world: World) -> None:
    """Someone deleted the card: the next change posts a fresh one (no crash, no retry
    loop), and the change after edits that one."""
    await world.initiate()
    world.card()["deleted"] = True  # as chat.delete leaves it
    await world.sweep(at(3, 14))
    cards = [
        m for m in world.slack.messages if m["channel"] == "CNOTICE" and "Reminders" in text_of(m)
    ]
    assert len(cards) == 2 and "1 of 2 sent" in text_of(cards[-1])
    answers = [c.response.get("error") for c in world.slack.calls_to("chat.update")]
    assert "message_not_found" in answers
    await world.sweep(at(4, 14))
    assert "2 of 2 sent" in text_of(cards[-1])  # edited in place this time
    assert world.slack.calls_to("chat.update")[-1].params["ts"] == cards[-1]["ts"]
    rows = await db_rows(world.bot, Outbox)
    assert not [row for row in rows if row.failed_at and row.last_error != "superseded"]


async def test_card_edits_under_429_end_in_one_with_the_latest_state(world: World) -> None:
    """Slack answers 429 to the first card edit: while the workspace waits, the partner
    declines; the edits collapse, and one chat.update carries "Declined"."""
    await world.initiate()
    card_ts = world.card()["ts"]
    world.slack.fail_next("chat.update", status=429, retry_after=60)
    await world.sweep(at(3, 14))
    decline = world.with_buttons("UPARTNER")
    assert decline  # the reminder's buttons were not taken away: it waits too
    await world.click("partner_decline", decline[-1], "UPARTNER")
    view = world.slack.calls_to("views.open")[-1].response["view"]
    await world.sender.submit_view(view["id"], {"reason": ""}, user_id="UPARTNER")
    await world.sweep(at(3, 14, 2))  # Retry-After is over
    await world.bot.services.drain(5)
    on_card = [
        c
        for c in world.slack.calls_to("chat.update")
        if c.params.get("ts") == card_ts and not c.failed
    ]
    assert len(on_card) == 1 and "Declined" in on_card[0].params["text"]
    edits = [row for row in await db_rows(world.bot, Outbox) if row.purpose == "card_edit"]
    assert {row.last_error for row in edits if row.failed_at} == {"superseded"}


@pytest.mark.parametrize(
    "bot_settings", [{"reminder_max": 2, "exalate_thread_replies": "milestones"}]
)
async def test_milestones_keep_the_thread_short_and_the_card_current(world: World) -> None:
    await world.initiate()
    for day in (3, 4, 5):
        await world.sweep(at(day, 14))
    thread = [m["text"] for m in world.thread()]
    assert len(thread) == 1 and "No answer from <@UPARTNER> after 2 reminders" in thread[0]
    assert not any("Reminded" in t or "Invitation sent" in t for t in thread)
    assert "2 of 2 sent" in text_of(world.card())
    await world.sweep(MONDAY + timedelta(days=14))
    assert "expired" in world.thread()[-1]["text"] and len(world.thread()) == 2
    assert "Expired" in world.card()["text"]


async def test_the_home_tab_says_what_the_card_says(world: World) -> None:
    await world.initiate()
    await world.sweep(at(3, 14))
    published = len(world.slack.calls_to("views.publish"))
    event = {"type": "app_home_opened", "user": "UADMIN", "channel": "D0HOME", "tab": "home"}
    assert (await world.sender.event(event)).status == 200
    await eventually(lambda: len(world.slack.calls_to("views.publish")) > published)
    home = text_of(world.slack.home_views["UADMIN"])
    card = text_of(world.card())
    # the state, and the next reminder in the partner's own time (Wednesday 09:00 New York)
    for said in ("Pending: waiting for the partner", "Wed 4 Mar, 09:00 (America/New_York)"):
        assert said in home and said in card
