"""The reminder sweep at volume: claimed and enqueued in bulk, sent a few connections at a
time, known DM channels reused (never opened again), every reminder sent once and recorded
(its outbox row, its audit rows, the Home flags, the metric), on both databases."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot import scheduler as scheduling
from bot.clock import FakeClock
from bot.delivery.courier import BATCH
from bot.delivery.rows import enqueue_many, outbox_row
from bot.delivery.window import Window
from bot.invitations.service import Invitations
from bot.invitations.sweep import SWEEP_BATCH
from bot.sweep import SweepReport, sweep
from storage import repo
from storage.db import claim_all, transaction
from storage.models import (
    AuditEvent,
    Connection,
    HomeTab,
    Invitation,
    LocalNodeConnection,
    Outbox,
)
from storage.repo.invitations import reminder_claims
from tests.harness import RunningBot, answers_for, connection_spec, make_settings, start_bot
from tests.slack_emulator import SlackEmulator

MANY = SWEEP_BATCH + BATCH + 7  # more than one batch of each


async def _due(
    bot: RunningBot,
    slack: SlackEmulator,
    clock: FakeClock,
    count: int,
    *,
    notice_channel: str | None = None,
    initiator: str = "UADMIN",
) -> list[str]:
    """`count` pending invitations whose first reminder is due now; their partners' ids."""
    partners = []
    async with transaction(bot.services.sessions) as session:
        for n in range(count):
            partner = f"UP{n:04d}"
            slack.add_user(partner, name=f"partner{n}", tz="UTC")
            answers = answers_for(n, notice_channel)
            await repo.create_connection(
                session=session,
                team_id=slack.team_id,
                answers=answers,
                backend="local",
                backend_id=None,
                initiator_user_id=initiator,
                partner_user_id=partner,
                partner_team_id=slack.team_id,
                partner_tz="UTC",
                code_hash=f"{n:064d}",
                expires_at=clock.now() + timedelta(days=14),
                next_reminder_at=clock.now() - timedelta(minutes=1),
                now=clock.now() - timedelta(days=1),
            )
            partners.append(partner)
    return partners


def _posted(slack: SlackEmulator) -> list[str]:
    return [c.params["channel"] for c in slack.calls_to("chat.postMessage") if not c.failed]


async def _rows(bot: RunningBot, model: type) -> list:
    async with bot.services.sessions() as session:
        return list((await session.exec(select(model))).all())


async def test_a_sweep_over_known_dm_channels_opens_none(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> None:
    """Half the invitations know their DM channel, the other half's partners are in the
    DM-channel cache: no conversations.open at all, each reminder once, all recorded."""
    settings = make_settings(slack, database_url, reminder_hours="")
    bot = await start_bot(slack, settings, clock=clock)
    try:
        partners = await _due(bot, slack, clock, MANY)
        expected = {}
        async with transaction(bot.services.sessions) as session:
            await repo.home_opened(
                session=session,
                team_id=slack.team_id,
                user_id="UADMIN",
                is_admin=True,
                now=clock.now(),
            )
            for invitation in (await session.exec(select(Invitation))).all():
                n = int(invitation.partner_user_id[2:])
                channel = f"D{n:04d}{'K' if n % 2 else 'C'}"
                slack.add_channel(channel, name="", is_im=True)
                expected[invitation.partner_user_id] = channel
                if n % 2:  # known from the invitation's first DM
                    invitation.dm_channel = channel
                    session.add(invitation)
                else:  # known from an earlier conversations.open
                    await repo.save_dm_channel(
                        session=session,
                        team_id=slack.team_id,
                        user_id=invitation.partner_user_id,
                        channel_id=channel,
                    )
        reports = [await sweep(bot.services) for _ in range(3)]
        assert sum(r.reminded for r in reports) == MANY
        assert sum(r.sent for r in reports) == MANY
        assert sum(r.failed for r in reports) == 0
        assert slack.calls_to("conversations.open") == []
        assert Counter(_posted(slack)) == Counter(expected[p] for p in partners)

        outbox = await _rows(bot, Outbox)
        assert len(outbox) == MANY and all(o.sent_at and o.attempts == 1 for o in outbox)
        assert all(o.blocks == [] and o.text == "(sent)" for o in outbox)
        audit = Counter(e.action for e in await _rows(bot, AuditEvent))
        assert audit["reminded"] == MANY and audit["reminder_sent"] == MANY
        # the admin's Home was flagged, then refreshed by the sweep
        assert "UADMIN" in [c.params["user_id"] for c in slack.calls_to("views.publish")]
        assert [t.dirty for t in await _rows(bot, HomeTab)] == [False]
        assert bot.services.metrics.reminders._value.get() == MANY
        # a reminder in a DM is not a notice: it starts no thread for the connection
        assert {(c.notice_channel, c.notice_ts) for c in await _rows(bot, Connection)} == {
            (None, None)
        }
        assert {i.reminders_sent for i in await _rows(bot, Invitation)} == {1}
        assert [r.reminded for r in [await sweep(bot.services)]] == [0]  # nothing twice
    finally:
        await bot.stop()


async def test_dms_to_one_user_open_the_channel_once(
    slack: SlackEmulator, tmp_path, clock: FakeClock
) -> None:
    """Many escalations to one admin in one sweep, sent concurrently: one conversations.open,
    and the channel is cached for the next sweep."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    settings = make_settings(slack, url, reminder_hours="", reminder_max=0)
    bot = await start_bot(slack, settings, clock=clock)
    try:
        await _due(bot, slack, clock, 20)
        report = await sweep(bot.services)
        assert (report.escalated, report.sent, report.failed) == (20, 20, 0)
        assert len(slack.calls_to("conversations.open")) == 1
        assert len(set(_posted(slack))) == 1
        async with bot.services.sessions() as session:
            cached = await repo.get_dm_channels(
                session=session, team_id=slack.team_id, user_ids=["UADMIN"]
            )
        assert cached == {(slack.team_id, "UADMIN"): _posted(slack)[0]}
    finally:
        await bot.stop()


async def test_notices_keep_one_thread_per_connection_in_order(
    slack: SlackEmulator, tmp_path, clock: FakeClock
) -> None:
    """The first notice of each connection starts its thread; the next ones reply in it, in
    order, though the batch goes out a few connections at a time."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    settings = make_settings(slack, url, reminder_hours="", reminder_max=1)
    bot = await start_bot(slack, settings, clock=clock)
    try:
        await _due(bot, slack, clock, 12, notice_channel="CNOTICE")
        assert (await sweep(bot.services)).reminded == 12
        clock.advance(timedelta(days=1, minutes=1))
        assert (await sweep(bot.services)).escalated == 12
        notices = [m for m in slack.messages if m["channel"] == "CNOTICE"]
        roots = [m for m in notices if m["thread_ts"] is None]  # each connection's card
        assert len(roots) == 12 and len(notices) == 36
        replies = Counter(m["thread_ts"] for m in notices if m["thread_ts"] is not None)
        assert set(replies) == {m["ts"] for m in roots} and set(replies.values()) == {2}
        for root in roots:  # the reminder's notice first, then the escalation's
            first, then = [m for m in notices if m["thread_ts"] == root["ts"]]
            assert "(1 of 1)" in first["text"] and "reminders" in then["text"]
            assert "Exalate connection" in root["text"] and "1 of 1 sent" in str(root["blocks"])
        connections = await _rows(bot, Connection)
        assert {c.notice_ts for c in connections} == {m["ts"] for m in roots}
    finally:
        await bot.stop()


async def test_429s_lose_and_double_nothing(
    slack: SlackEmulator, tmp_path, clock: FakeClock
) -> None:
    """Slack answers 429 to some of a concurrent batch: those, and the workspace's messages
    not sent yet, wait in the table for Retry-After (no attempt spent), then go out once;
    what went before the 429 went once."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    settings = make_settings(slack, url, reminder_hours="")
    bot = await start_bot(slack, settings, clock=clock)
    try:
        partners = await _due(bot, slack, clock, 30)
        slack.fail_next("chat.postMessage", status=429, retry_after=20, times=3)
        first = await sweep(bot.services)
        assert (first.reminded, first.sent + first.failed) == (30, 30)
        assert first.failed >= 27  # after the 429, the workspace's others wait in the table
        sweeps = 0
        while len(_posted(slack)) < 30 and sweeps < 6:
            clock.advance(timedelta(seconds=19))
            assert (await sweep(bot.services)).sent == 0  # Retry-After not over yet
            clock.advance(timedelta(seconds=1))
            await sweep(bot.services)
            sweeps += 1
        assert (await sweep(bot.services)).sent == 0
        dms = Counter(_posted(slack))
        assert len(dms) == 30 and set(dms.values()) == {1}
        assert {slack._ims[p] for p in partners} == set(dms)
        assert all(o.sent_at for o in await _rows(bot, Outbox))
        posts = slack.calls_to("chat.postMessage")
        assert len([c for c in posts if c.failed]) == 3 and len(posts) == 33  # none in a pause
        # only a try that reached Slack counts: a row put back for a pause got its attempt back
        assert sum(o.attempts for o in await _rows(bot, Outbox)) == 33
    finally:
        await bot.stop()


async def test_a_stale_candidate_is_not_won_again(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> None:
    """The bulk claim re-checks in its UPDATE that each row is still due: a replica that read
    its candidates before another replica claimed them wins none of them."""
    settings = make_settings(slack, database_url, reminder_hours="")
    bots = [await start_bot(slack, settings, clock=clock) for _ in range(2)]
    try:
        await _due(bots[0], slack, clock, 10)
        first, second = (Invitations(bot.services) for bot in bots)
        async with bots[1].services.sessions() as session:
            stale = list((await session.exec(select(Invitation.id, Invitation.partner_tz))).all())
        assert await first.remind_due() == (10, 0)
        now = clock.now()
        ids = [row.id for row in stale]
        async with transaction(bots[1].services.sessions) as session:
            won = await claim_all(
                session,
                select(Invitation.id, Invitation.partner_tz).where(col(Invitation.id).in_(ids)),
                lambda candidates: reminder_claims(
                    candidates=candidates,
                    now=now,
                    reminder_max=settings.reminder_max,
                    next_reminder=lambda tz: second.next_reminder(now, tz),
                ),
            )
        assert won == []
        assert await second.remind_due() == (0, 0)
        # the outbox claim too: once claimed, a row is not claimed again within its lease
        claimed = [await r.courier._claim(ids=None, limit=BATCH) for r in (first, second)]
        assert [len(c) for c in claimed] == [10, 0]
    finally:
        for bot in bots:
            await bot.stop()


@pytest.mark.postgres
async def test_replicas_on_postgresql_claim_disjoint_batches(
    slack: SlackEmulator, postgres_url: str, clock: FakeClock
) -> None:
    """Two replicas (two engines) claiming reminders and outbox rows at the same time, batch
    after batch: every invitation reminded once, every outbox row claimed by one of them."""
    settings = make_settings(slack, postgres_url, reminder_hours="")
    bots = [await start_bot(slack, settings, clock=clock) for _ in range(2)]
    try:
        await _due(bots[0], slack, clock, 260, notice_channel="CNOTICE")
        replicas = [Invitations(bot.services) for bot in bots]

        async def remind(invitations: Invitations) -> int:
            total = 0
            while True:
                reminded, _ = await invitations.remind_due()
                if not reminded:
                    return total
                total += reminded

        assert sum(await asyncio.gather(*(remind(r) for r in replicas * 2))) == 260
        async with bots[0].services.sessions() as session:
            outbox = list((await session.exec(select(Outbox))).all())
        assert len(outbox) == 3 * 260  # a reminder, the card and a notice each, enqueued once
        assert {i.reminders_sent for i in await _rows(bots[0], Invitation)} == {1}

        async def claim(invitations: Invitations) -> list[int]:
            ids: list[int] = []
            while rows := await invitations.courier._claim(ids=None, limit=BATCH):
                ids += [row.id or 0 for row in rows]
            return ids

        claimed = await asyncio.gather(*(claim(r) for r in replicas * 2))
        every = [i for ids in claimed for i in ids]
        assert sorted(every) == sorted(o.id for o in outbox)  # each once, none left
    finally:
        for bot in bots:
            await bot.stop()


async def test_a_claim_takes_no_more_for_one_channel_than_its_pace_lets_out(
    slack: SlackEmulator, tmp_path, clock: FakeClock
) -> None:
    """A backlog of notices in one channel (a second each) doesn't fill a batch that the
    workspace's pace would send in a few seconds: the batch takes the others beside them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'b.db'}"
    bot = await start_bot(slack, make_settings(slack, url), clock=clock)  # 240 a minute
    try:
        rows = [
            outbox_row(
                team_id=slack.team_id,
                key=f"k{n}",
                purpose="notice" if n % 2 else "dm",
                channel="CNOTICE" if n % 2 else f"U{n:04d}",
                message={"text": f"message {n}"},
                now=clock.now(),
            )
            for n in range(60)
        ]
        async with transaction(bot.services.sessions) as session:
            assert len(await enqueue_many(session, rows + rows[:5])) == 60  # keys: once
        courier = Invitations(bot.services).courier
        claimed = await courier._claim(ids=None, limit=20)
        # 20 at 240 a minute take 5 s: five notices in a channel paced at one a second
        assert Counter(row.channel == "CNOTICE" for row in claimed) == {True: 5, False: 15}
        assert [row.id for row in claimed] == sorted(row.id for row in claimed)
    finally:
        await bot.stop()


async def test_the_window_lets_the_oldest_waiting_message_take_the_next_turn() -> None:
    window = Window(1)
    order: list[int] = []
    go = asyncio.Event()

    async def take(key: int) -> None:
        async with window.held(key):
            order.append(key)
            await go.wait()

    holder = asyncio.ensure_future(take(7))
    await asyncio.sleep(0)
    waiters = [asyncio.ensure_future(take(key)) for key in (5, 2, 9, 1)]
    await asyncio.sleep(0)  # all four wait now
    waiters.pop().cancel()  # gone before its turn: it takes no place
    go.set()
    await asyncio.gather(holder, *waiters)
    assert order == [7, 2, 5, 9]


async def test_an_expiry_sweep_closes_every_invitation_once(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> None:
    """More than a batch expiring at once: each invitation and connection Expired once, its
    code revoked on the node, the partner, the admin and the thread told once, audited."""
    count = SWEEP_BATCH + 7
    bot = await start_bot(slack, make_settings(slack, database_url), clock=clock)
    try:
        node = bot.services.backend
        partners = [f"UP{n:04d}" for n in range(count)]
        backend_ids = [
            (await node.initiate(connection_spec(n, p))).backend_id for n, p in enumerate(partners)
        ]
        async with transaction(bot.services.sessions) as session:
            for n, partner in enumerate(partners):
                slack.add_user(partner, name=f"partner{n}", tz="UTC")
                answers = answers_for(n, "CNOTICE")
                await repo.create_connection(
                    session=session,
                    team_id=slack.team_id,
                    answers=answers,
                    backend="local",
                    backend_id=backend_ids[n],
                    initiator_user_id="UADMIN",
                    partner_user_id=partner,
                    partner_team_id=slack.team_id,
                    partner_tz="UTC",
                    code_hash=f"{n:064d}",
                    expires_at=clock.now() - timedelta(minutes=1),
                    next_reminder_at=clock.now() + timedelta(hours=1),
                    now=clock.now() - timedelta(days=14),
                )
        first = await sweep(bot.services)
        again = await sweep(bot.services)
        assert (first.expired, again.expired, again.reminded) == (count, 0, 0)
        assert {i.state for i in await _rows(bot, Invitation)} == {"EXPIRED"}
        assert {c.status for c in await _rows(bot, Connection)} == {"EXPIRED"}
        records = await _rows(bot, LocalNodeConnection)
        assert {(r.code_state, r.status) for r in records} == {("REVOKED", "DELETED")}
        audits = [a for a in await _rows(bot, AuditEvent) if a.action == "expired"]
        assert len(audits) == count
        assert {(a.from_state, a.to_state) for a in audits} == {("PENDING", "EXPIRED")}
        said = Counter(_posted(slack))
        admin_dm = slack._ims["UADMIN"]
        assert said.pop("CNOTICE") == 2 * count  # each connection's card, and its notice
        assert said.pop(admin_dm) == count
        assert sorted(said.values()) == [1] * count  # one DM to each partner
    finally:
        await bot.stop()


async def test_a_sweep_running_when_the_bot_stops_finishes_first(
    slack: SlackEmulator,
    clock: FakeClock,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    log_watch: Any,
) -> None:
    """Stopping the bot waits for the sweep in progress (APScheduler's shutdown would cancel
    it mid-transaction, and log the CancelledError with its traceback)."""
    started, finished = asyncio.Event(), asyncio.Event()

    async def slow_sweep(services: Any) -> Any:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()
        return SweepReport()

    monkeypatch.setattr(scheduling, "sweep_once", slow_sweep)
    settings = make_settings(slack, f"sqlite:///{tmp_path / 'bot.db'}", sweep_interval="1s")
    bot = await start_bot(slack, settings, clock=clock)
    try:
        await asyncio.wait_for(started.wait(), 5)
    finally:
        await bot.stop()
    assert finished.is_set()
    assert log_watch.tracebacks == []
