"""A send that Slack took but the database did not record (issue 13): one Courier per
process keeps it, records it on its next run before it claims anything, and never claims the
row again meanwhile, so the partner gets the message once, also after the lease ran out."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.clock import FakeClock
from bot.delivery.courier import LEASE
from storage import repo
from storage.models import Invitation, Outbox
from tests.harness import RunningBot, World, db_rows, make_settings, start_bot
from tests.slack_emulator import SlackEmulator


@pytest.fixture
async def bot(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    """The bot on SQLite, then on PostgreSQL."""
    settings = make_settings(slack, database_url, reminder_max=2, slack_timeout="1s")
    running = await start_bot(slack, settings, clock=clock)
    yield running
    await running.stop()


class FailingRecords:
    """The repository function that records sends raises while `failing` (the database gave
    way just after Slack took the messages); `failures` counts the rows it refused."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.failing, self.failures = True, 0
        real: Callable[..., Any] = repo.mark_sent

        async def flaky(**kwargs: Any) -> Any:
            if self.failing:
                self.failures += len(kwargs["sent"])
                raise OperationalError("UPDATE outbox ...", {}, Exception("database is locked"))
            return await real(**kwargs)

        monkeypatch.setattr(repo, "mark_sent", flaky)


def code_posts(world: World) -> list[Any]:
    """chat.postMessage calls that carried the invitation code to the partner's DM."""
    channel = world.slack._ims.get("UPARTNER")
    return [
        call
        for call in world.slack.calls_to("chat.postMessage")
        if not call.failed
        and call.params.get("channel") == channel
        and "EXA1-" in json.dumps(call.params)
    ]


async def test_a_send_recorded_late_reaches_the_partner_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = FailingRecords(monkeypatch)
    await world.initiate()  # the handler posts the DM, the card and the notice; recording fails
    records.failing = False
    assert records.failures >= 3
    assert len(code_posts(world)) == 1
    assert [o.sent_at for o in await db_rows(world.bot, Outbox)] == [None, None, None]

    start = world.clock.now()
    sent = [(await world.sweep()).sent]  # it records first: nothing is left to claim
    for later in (LEASE + timedelta(seconds=1), LEASE * 3):  # the lease long over
        sent.append((await world.sweep(start + later)).sent)
    assert len(code_posts(world)) == 1  # once: not again after the lease
    assert sent == [0, 0, 0]
    assert all(o.sent_at for o in await db_rows(world.bot, Outbox))
    assert len(world.dms("UPARTNER")) == 1
    outbox = {o.purpose: o for o in await db_rows(world.bot, Outbox)}
    assert outbox["invitation_dm"].sent_at and outbox["invitation_dm"].sealed is None
    assert outbox["invitation_dm"].attempts == 1  # claimed once, never again
    [invitation] = await db_rows(world.bot, Invitation)
    assert invitation.dm_channel == world.slack._ims["UPARTNER"]  # where it landed, recorded


async def test_what_is_not_recorded_yet_is_not_claimed_again_by_its_process(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the database still refuses the record, the lease runs out: the process that
    posted the rows does not claim them again (a run records before it claims, and fails
    while it can't)."""
    records = FailingRecords(monkeypatch)
    await world.initiate()
    world.clock.advance(LEASE * 2)
    courier = world.bot.services.courier
    assert await courier._claim(ids=None, limit=50) == []  # due again, but posted by us
    with pytest.raises(OperationalError):
        await world.sweep()  # still failing: nothing claimed, nothing sent
    records.failing = False
    assert (await world.sweep()).sent == 0  # recorded now
    assert all(o.sent_at for o in await db_rows(world.bot, Outbox))
    assert len(code_posts(world)) == 1
