"""The sweep in OAuth mode: each workspace's reminders with its own token, at its own pace,
and one workspace's 429s holding back no other's messages."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.delivery.courier import AHEAD
from bot.devtools.waiting import eventually
from bot.sweep import sweep
from storage import repo
from storage.db import transaction
from tests.harness import RunningBot, answers_for
from tests.slack_emulator import SlackEmulator
from tests.two_workspaces import (
    ACME,
    GLOBEX,
    companies,
    oauth_bot_in,
)

EACH = 20


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with companies() as emulator:
        yield emulator


@pytest.fixture
async def bot(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    async with oauth_bot_in(slack, database_url, clock, ACME, GLOBEX) as running:
        yield running


async def _due(bot: RunningBot, slack: SlackEmulator, clock: FakeClock) -> None:
    """EACH invitations due for a reminder in each workspace (Ada invites them all)."""
    async with transaction(bot.services.sessions) as session:
        for n in range(2 * EACH):
            team = ACME if n % 2 else GLOBEX
            partner = f"UP{n:04d}"
            slack.workspace(team).add_user(partner, name=f"partner{n}", tz="UTC")
            await repo.create_connection(
                session=session,
                team_id=ACME,
                answers=answers_for(n),
                backend="local",
                backend_id=None,
                initiator_user_id="UADA",
                partner_user_id=partner,
                partner_team_id=team,
                reach_team_id=team,
                partner_tz="UTC",
                code_hash=f"{n:064d}",
                expires_at=clock.now() + timedelta(days=14),
                next_reminder_at=clock.now() - timedelta(minutes=1),
                now=clock.now() - timedelta(days=1),
            )


def _globex_posts(calls: list) -> list:
    return [c for c in calls if c.team_id == GLOBEX and c.method == "chat.postMessage"]


def _posted(slack: SlackEmulator, team: str) -> int:
    return len([c for c in slack.calls_in(team, "chat.postMessage") if not c.failed])


async def test_globexs_429s_hold_back_none_of_acmes_reminders(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    await _due(bot, slack, clock)
    slack.fail_next("chat.postMessage", status=429, retry_after=30, team_id=GLOBEX)
    report = await sweep(bot.services)
    assert report.reminded == 2 * EACH
    assert _posted(slack, ACME) == EACH  # every one of Acme's, in this sweep
    # Globex's: once Slack said 429, those not yet on their way wait in the table for
    # Retry-After (the sweep goes on without them), and no sweep tries them before it
    assert len(slack.calls_in(GLOBEX, "chat.postMessage")) <= AHEAD  # those on their way
    after = len(slack.calls)
    clock.advance(timedelta(seconds=29))
    await sweep(bot.services)
    assert _globex_posts(slack.calls[after:]) == []
    clock.advance(timedelta(seconds=1))
    await sweep(bot.services)
    assert (_posted(slack, ACME), _posted(slack, GLOBEX)) == (EACH, EACH)
    # each with its own workspace's token, and nothing tried while Globex was paused
    assert {c.token for c in slack.calls_in(GLOBEX, "chat.postMessage")} == {
        slack.workspace(GLOBEX).bot_token
    }
    assert len(slack.calls_in(GLOBEX, "chat.postMessage")) == EACH + 1


async def test_a_claim_gives_each_workspace_its_turn(bot: RunningBot, clock: FakeClock) -> None:
    """40 DMs due in Globex, then 5 in Acme: a claim of 20 takes one of each in turn, no more
    than an even share of Globex's, so Acme's 5 go in this batch beside 10 of Globex's, not
    after all of Globex's. With room for 3 of Globex's (the sweep's flow holds the rest) and
    one of Acme's channels busy, it takes those 3 and Acme's other 4; with none, none."""
    from bot.delivery.rows import enqueue_many, outbox_row

    def row(team: str, n: int) -> dict:
        return outbox_row(
            team_id=team,
            key=f"{team}:{n}",
            purpose="dm",
            channel=f"U{team[-1]}{n:05d}",
            message={"text": f"message {n}"},
            now=clock.now(),
        )

    rows = [row(GLOBEX, n) for n in range(40)] + [row(ACME, n) for n in range(5)]
    async with transaction(bot.services.sessions) as session:
        await enqueue_many(session, rows)
    courier = bot.services.courier
    busy = {"UE00000"}
    claimed = await courier._claim(ids=None, limit=20, room={GLOBEX: 3}, busy=busy)
    assert Counter(r.team_id for r in claimed) == {ACME: 4, GLOBEX: 3}
    assert "UE00000" not in {r.channel for r in claimed}
    claimed += await courier._claim(ids=None, limit=20, room={GLOBEX: 0}, busy=busy)
    assert Counter(r.team_id for r in claimed) == {ACME: 4, GLOBEX: 3}  # nothing more
    claimed = await courier._claim(ids=None, limit=20)
    assert Counter(r.team_id for r in claimed) == {ACME: 1, GLOBEX: 10}
    assert [r.id for r in claimed] == sorted(r.id for r in claimed)


class _Turns:
    """The pacer's sleep on the fake clock: a turn comes only when the test moves the clock
    to it, so which workspace's messages go when is the courier's doing alone."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self._sleeping: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.clock.now().timestamp()

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleeping.append((self.now() + seconds, woken))
        await woken

    def advance(self, seconds: float) -> None:
        self.clock.advance(timedelta(seconds=seconds))
        for at, woken in self._sleeping:
            if at <= self.now() and not woken.done():
                woken.set_result(None)
        self._sleeping = [(at, w) for at, w in self._sleeping if not w.done()]


async def test_a_workspace_with_a_backlog_holds_back_no_other(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    """Globex's turns are booked 20 s ahead (a backlog, say after its 429s), and 60 DMs are
    due in Acme beside 20 in Globex: Acme's go at Acme's own pace, one every turn (a quarter
    second), though every claim also holds some of Globex's, waiting for their turns. (A
    courier that waits for its whole claim before the next lets Acme's stop after the first.)"""
    from bot.delivery.rows import enqueue_many, outbox_row
    from bot.slack.pacing import Pacer

    turns = _Turns(clock)
    pacer = Pacer(per_minute=240, monotonic=turns.now, sleep=turns.sleep)
    bot.services.courier.pacer = pacer
    backlog = [asyncio.ensure_future(pacer.wait(GLOBEX, f"CBUSY{n}")) for n in range(80)]
    rows = [
        outbox_row(
            team_id=team,
            key=f"{team}:{n}",
            purpose="dm",
            channel=f"U{team[-1]}{n:05d}",
            message={"text": f"message {n}"},
            now=clock.now(),
        )
        for n in range(60)
        for team in ((ACME, GLOBEX) if n < 20 else (ACME,))
    ]
    for row in rows:
        slack.workspace(row["team_id"]).add_user(row["channel"], name=row["channel"].lower())
    async with transaction(bot.services.sessions) as session:
        await enqueue_many(session, rows)
    sweeping = asyncio.ensure_future(sweep(bot.services, budget=120))
    try:
        for step in range(60):  # Acme's n-th turn comes n quarter seconds from now
            await eventually(lambda step=step: _posted(slack, ACME) >= step + 1, within=5)
            assert _posted(slack, GLOBEX) == 0  # its turns are still to come
            turns.advance(0.25)
        assert _posted(slack, ACME) == 60
        for _ in range(4 * 10 + 20):  # the rest of Globex's backlog, then its own 20
            turns.advance(0.25)
            await asyncio.sleep(0)
        report = await asyncio.wait_for(sweeping, timeout=10)
    finally:
        sweeping.cancel()
        for booked in backlog:
            booked.cancel()
    assert (_posted(slack, ACME), _posted(slack, GLOBEX)) == (60, 20)
    assert report.sent == 80
    assert len(slack.calls_to("chat.postMessage")) == 80  # none twice


async def test_a_connections_notice_waits_for_its_dm_claimed_before_it(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    """The partner's DM (in Globex, whose turns are booked 5 s ahead) is on its way in the
    sweep when a click writes the connection's notice in Acme: the notice waits for the DM,
    though Acme's turn is now and another claim took it."""
    from bot.delivery.rows import enqueue_many, outbox_row
    from bot.slack.pacing import Pacer

    turns = _Turns(clock)
    pacer = Pacer(per_minute=240, monotonic=turns.now, sleep=turns.sleep)
    bot.services.courier.pacer = pacer
    backlog = [asyncio.ensure_future(pacer.wait(GLOBEX, f"CBUSY{n}")) for n in range(20)]
    slack.workspace(GLOBEX).add_user("UPAT", name="pat")
    async with transaction(bot.services.sessions) as session:
        connection, _ = await repo.create_connection(
            session=session,
            team_id=ACME,
            answers=answers_for(1),
            backend="local",
            backend_id=None,
            initiator_user_id="UADA",
            partner_user_id="UPAT",
            partner_team_id=GLOBEX,
            reach_team_id=GLOBEX,
            partner_tz="UTC",
            code_hash="1" * 64,
            expires_at=clock.now() + timedelta(days=14),
            next_reminder_at=None,
            now=clock.now(),
        )
        assert connection.id is not None
        message = {"text": "for the connection"}

        def row(team: str, key: str, channel: str) -> dict:
            return outbox_row(
                team_id=team,
                key=key,
                purpose=key,
                channel=channel,
                message=message,
                now=clock.now(),
                connection_id=connection.id,
            )

        await enqueue_many(session, [row(GLOBEX, "dm", "UPAT")])
    notify = next(iter(slack.workspace(ACME).channels))
    sweeping = asyncio.ensure_future(sweep(bot.services, budget=60))
    clicked = None
    try:
        await eventually(lambda: bot.services.courier._flowing)  # the DM, waiting for its turn
        async with transaction(bot.services.sessions) as session:
            (notice,) = await enqueue_many(session, [row(ACME, "notice", notify)])
        clicked = asyncio.ensure_future(bot.services.courier.run(ids=[notice]))
        await eventually(lambda: bot.services.courier.order.waiting(connection.id))
        for _ in range(4 * 5 + 4):
            turns.advance(0.25)
            await asyncio.sleep(0)
        await asyncio.wait_for(asyncio.gather(sweeping, clicked), timeout=10)
    finally:
        for task in [sweeping, clicked, *backlog]:
            if task is not None:
                task.cancel()
    posts = [c for c in slack.calls_to("chat.postMessage") if not c.failed]
    assert [c.team_id for c in posts] == [GLOBEX, ACME]  # the DM, then its notice
