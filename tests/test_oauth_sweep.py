"""The sweep in OAuth mode: each workspace's reminders with its own token, at its own pace,
and one workspace's 429s holding back no other's messages."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.delivery.courier import AHEAD
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
    than an even share of Globex's (the batch waits for the slowest workspace's last turn),
    so Acme's 5 go in this batch beside 10 of Globex's, not after all of Globex's."""
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
    claimed = await bot.services.courier._claim(ids=None, limit=20)
    assert Counter(r.team_id for r in claimed) == {ACME: 5, GLOBEX: 10}
    assert [r.id for r in claimed] == sorted(r.id for r in claimed)
