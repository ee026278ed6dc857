"""Keeping to Slack's pace: the pacer alone, then against an emulator that enforces it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta

from bot.clock import FakeClock
from bot.slack.pacing import Pacer
from bot.sweep import sweep
from storage import repo
from storage.db import transaction
from tests.harness import answers_for, make_settings, start_bot
from tests.slack_emulator import SlackEmulator


class Time:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


async def test_the_pacer_spaces_messages_per_channel_and_per_workspace() -> None:
    clock = Time()
    pacer = Pacer(per_minute=120, monotonic=clock.monotonic, sleep=clock.sleep)
    waits = [await pacer.wait("T1", "D1") for _ in range(3)]
    assert waits == [0.0, 1.0, 1.0]  # one a second in a channel
    waits = [await pacer.wait("T1", f"D{n}") for n in range(2, 6)]
    assert waits == [0.5, 0.5, 0.5, 0.5]  # 120 a minute in the workspace: every 0.5 s
    assert await pacer.wait("T2", "D1") == 0.0  # another workspace has its own budget
    pacer.pause("T1", 30)
    assert await pacer.wait("T1", "D9") == 30.0  # Slack said 429: Retry-After first


async def test_one_workspaces_429_holds_back_no_other() -> None:
    """Installed in many workspaces: Globex's Retry-After pauses Globex only."""
    clock = Time()
    pacer = Pacer(per_minute=60, monotonic=clock.monotonic, sleep=clock.sleep)
    pacer.pause("T0GLOBEX", 30)
    assert [await pacer.wait("T0ACME", f"C{n}") for n in range(3)] == [0.0, 1.0, 1.0]
    assert await pacer.wait("T0GLOBEX", "D1") == 28.0  # what is left of its 30 s
    assert await pacer.wait("T0ACME", "C9") == 0.0  # Acme's next turn was due already


def test_the_pacer_says_which_workspaces_wait_out_a_429() -> None:
    """The courier claims none of their messages meanwhile (no claim and put back)."""
    clock = Time()
    pacer = Pacer(per_minute=60, monotonic=clock.monotonic, sleep=clock.sleep)
    pacer.pause("T0GLOBEX", 30)
    pacer.pause("T0INITECH", 5)
    assert pacer.paused() == {"T0GLOBEX", "T0INITECH"}
    clock.now += 5
    assert pacer.paused() == {"T0GLOBEX"}
    clock.now += 25
    assert pacer.paused() == set()


async def test_ten_thousand_at_once_would_keep_to_the_budget() -> None:
    clock = Time()
    pacer = Pacer(per_minute=300, monotonic=clock.monotonic, sleep=clock.sleep)
    for n in range(600):
        await pacer.wait("T1", f"D{n}")
    assert 119 <= clock.now - 100 <= 120  # 600 messages at 300 a minute: two minutes


async def test_a_turn_given_before_a_429_waits_for_retry_after() -> None:
    """Messages already waiting for their turn when Slack says 429 don't go out before
    Retry-After has passed: they take new turns after it."""
    now = [100.0]

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)  # others run meanwhile (a 429 arrives)
        now[0] += seconds

    pacer = Pacer(per_minute=60, monotonic=lambda: now[0], sleep=sleep)
    assert await pacer.wait("T1", "D1") == 0.0  # the first goes at once, then Slack says 429

    async def second() -> float:
        return await pacer.wait("T1", "D2")  # its turn: one second later

    waiting = asyncio.ensure_future(second())
    await asyncio.sleep(0)
    pacer.pause("T1", 30)  # while the second waits for its turn
    assert await waiting == 30.0  # its second, then the rest of the pause
    assert await pacer.wait("T1", "D3") == 1.0  # then the usual gap


async def test_a_message_held_by_its_channel_holds_back_no_other() -> None:
    """A second message to one channel waits its second; messages to other channels take
    the workspace's turns before it, each `gap` from the others."""
    now = 100.0

    async def no_sleep(_: float) -> None:
        return None

    pacer = Pacer(per_minute=240, monotonic=lambda: now, sleep=no_sleep)
    waits = [await pacer.wait("T1", c) for c in ("C1", "C1", "D0", "D1", "D2", "D3")]
    assert waits == [0.0, 1.0, 0.25, 0.5, 0.75, 1.25]  # D3: 1.0 is C1's


async def test_the_bot_keeps_to_slacks_pace(slack: SlackEmulator, tmp_path) -> None:
    """40 reminders due at once; Slack allows one a second per channel and 600 a minute;
    the bot (480 a minute) sends each once, with no 429."""
    slack.enforce_pace(per_channel_seconds=1.0, per_minute=600)
    clock = FakeClock()
    settings = make_settings(
        slack,
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        reminder_hours="",
        slack_messages_per_minute=480,
    )
    bot = await start_bot(slack, settings, clock=clock, real_pace=True)
    try:
        async with transaction(bot.services.sessions) as session:
            for n in range(40):
                slack.add_user(f"UP{n:03d}", name=f"p{n}")
                await repo.create_connection(
                    session=session,
                    team_id=slack.team_id,
                    answers=answers_for(n),
                    backend="local",
                    backend_id=None,
                    initiator_user_id="UADMIN",
                    partner_user_id=f"UP{n:03d}",
                    partner_team_id=slack.team_id,
                    code_hash=f"{n:064d}",
                    expires_at=clock.now() + timedelta(days=14),
                    next_reminder_at=clock.now(),
                    now=clock.now() - timedelta(days=1),
                )
        started = time.monotonic()
        sent = 0
        for _ in range(10):
            sent += (await sweep(bot.services)).sent
            if sent >= 40:
                break
        took = time.monotonic() - started
    finally:
        await bot.stop()
    reminders = [c for c in slack.calls_to("chat.postMessage") if not c.failed]
    assert len(reminders) == 40
    assert set(Counter(c.params["channel"] for c in reminders).values()) == {1}
    assert [c for c in slack.calls_to("chat.postMessage") if c.failed] == []
    assert 4.0 <= took < 15  # 40 at 480 a minute is five seconds, not less
