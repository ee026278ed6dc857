"""Two bot instances on one database: every due reminder is sent exactly once.

PostgreSQL claims with FOR UPDATE SKIP LOCKED; SQLite with a conditional update under its
single writer. Both instances sweep at the same time, many times over.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.clock import FakeClock
from bot.sweep import sweep
from storage import repo
from storage.db import transaction
from storage.models import Outbox
from tests.harness import RunningBot, answers_for, db_rows, make_settings, start_bot
from tests.slack_emulator import SlackEmulator

PARTNERS = 30


async def _due_invitations(bot: RunningBot, slack: SlackEmulator, clock: FakeClock) -> None:
    """PARTNERS pending invitations whose first reminder is due now."""
    async with transaction(bot.services.sessions) as session:
        for n in range(PARTNERS):
            partner = f"UP{n:03d}"
            slack.add_user(partner, name=f"partner{n}", tz="UTC")
            await repo.create_connection(
                session=session,
                team_id=slack.team_id,
                answers=answers_for(n, notice_channel="CNOTICE"),
                backend="local",
                backend_id=None,
                initiator_user_id="UADMIN",
                partner_user_id=partner,
                partner_team_id=slack.team_id,
                code_hash=f"{n:064d}",
                expires_at=clock.now() + timedelta(days=14),
                next_reminder_at=clock.now() - timedelta(minutes=1),
                now=clock.now() - timedelta(days=1),
            )


async def _two_replicas_remind_once(slack: SlackEmulator, url: str, clock: FakeClock) -> None:
    settings = make_settings(slack, url, reminder_hours="")
    bots = [await start_bot(slack, settings, clock=clock) for _ in range(2)]
    try:
        await _due_invitations(bots[0], slack, clock)
        sweeps = [sweep(bot.services) for bot in bots for _ in range(4)]
        reports = await asyncio.gather(*sweeps)
        assert sum(r.reminded for r in reports) == PARTNERS
        # none failed: at most a notice one replica claimed before the other had posted its
        # connection's card waited for it (put back, no try counted), sent below
        assert sum(r.failed for r in reports) <= PARTNERS
        assert not [o for o in await db_rows(bots[0], Outbox) if o.failed_at]
        # what was enqueued after the last concurrent delivery goes out on the next sweeps,
        # and a notice one replica claimed before the other posted its card waits a little
        clock.advance(timedelta(seconds=10))
        reports += await asyncio.gather(*(sweep(bot.services) for bot in bots))
        # a DM, the connection's card (its first notice) and the reminder's line under it
        assert sum(r.sent for r in reports) == 3 * PARTNERS
        # nothing was sent twice, nothing was lost
        reminders = [m for m in slack.messages if "Reminder 1 of" in m["text"]]
        per_channel = Counter(m["channel"] for m in reminders)
        assert len(per_channel) == PARTNERS and set(per_channel.values()) == {1}
        notices = Counter(
            m["text"] for m in slack.messages if m["channel"] == "CNOTICE" and m["thread_ts"]
        )
        assert len(notices) == PARTNERS and set(notices.values()) == {1}
        cards = [m for m in slack.messages if m["channel"] == "CNOTICE" and not m["thread_ts"]]
        assert len(cards) == PARTNERS  # one for each connection
        async with bots[0].services.sessions() as session:
            rows = (await session.exec(select(Outbox))).all()
        assert len(rows) == 3 * PARTNERS and all(row.sent_at is not None for row in rows)
    finally:
        for bot in bots:
            await bot.stop()


@pytest.mark.postgres
async def test_two_replicas_on_postgresql_send_each_reminder_once(
    slack: SlackEmulator, postgres_url: str, clock: FakeClock
) -> None:
    await _two_replicas_remind_once(slack, postgres_url, clock)


async def test_two_replicas_on_sqlite_send_each_reminder_once(
    slack: SlackEmulator, tmp_path, clock: FakeClock
) -> None:
    await _two_replicas_remind_once(slack, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", clock)
