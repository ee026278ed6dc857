"""Keeping to Slack's pace for messages: about one a second per channel, a few hundred a
minute per workspace, and a pause when Slack answers 429 with Retry-After.

Each process paces itself; with several replicas, set SLACK_MESSAGES_PER_MINUTE to the
workspace's budget divided by the number of replicas.
"""

from __future__ import annotations

import asyncio
import time
from bisect import insort
from collections.abc import Awaitable, Callable
from typing import Any

CHANNEL_SECONDS = 1.05  # Slack's second per channel, and a little for the request's way there


class Paused(Exception):
    """The workspace is paused (Slack said 429) for `seconds` more: longer than the caller
    would wait (`Pacer.wait`'s `defer_over`), so it puts the message back for later."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for {seconds:.1f}s")
        self.seconds = seconds


class Pacer:
    """Hands out turns to send: `per_minute` a minute in a workspace, evenly spaced (a turn
    every 60/per_minute seconds), and `per_channel_seconds` between two in one channel. A
    message held back by its channel doesn't hold back the others: they take the workspace's
    turns before it."""

    def __init__(
        self,
        *,
        per_minute: int,
        per_channel_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.gap = 60.0 / per_minute
        self.per_channel_seconds = per_channel_seconds
        self._now, self._sleep = monotonic, sleep
        self._turns: dict[str, list[float]] = {}  # team → the turns handed out, in order
        self._channel_next: dict[tuple[str, str], float] = {}
        self._pauses: dict[str, tuple[int, float]] = {}  # team → (pauses so far, until when)
        self._tidy_at = 1024
        self._lock = asyncio.Lock()

    async def wait(self, team_id: str, channel: str, *, defer_over: float | None = None) -> float:
        """Wait for this message's turn; returns how long it waited. A turn handed out before
        a 429 and due before its Retry-After has passed is void: the message takes a new one.
        With `defer_over`, a workspace paused for longer than that many seconds raises
        `Paused` instead of waiting (before its turn, or when a 429 comes while it waits):
        the caller's other workspaces don't wait behind it."""
        waited = 0.0
        while True:
            async with self._lock:  # turns are handed out in order
                now = self._now()
                pauses, until = self._pauses.get(team_id, (0, 0.0))
                if defer_over is not None and until - now > defer_over:
                    raise Paused(until - now)
                earliest = max(now, until, self._channel_next.get((team_id, channel), 0.0))
                turn = self._book(team_id, earliest, now)
                self._channel_next[(team_id, channel)] = turn + self.per_channel_seconds
                if len(self._channel_next) > self._tidy_at:
                    self._tidy(now)
            if turn > now:
                await self._sleep(turn - now)
            waited += turn - now
            paused, until = self._pauses.get(team_id, (0, 0.0))
            if paused == pauses or until <= turn:
                return waited

    def _book(self, team_id: str, earliest: float, now: float) -> float:
        """The first turn from `earliest` at least `gap` away from every other one."""
        turns = [t for t in self._turns.get(team_id, []) if t > now - self.gap]
        turn = earliest
        for other in turns:  # in order: each one too close moves this turn after it
            if other + self.gap <= turn:
                continue
            if other >= turn + self.gap:
                break
            turn = other + self.gap
        insort(turns, turn)
        self._turns[team_id] = turns
        return turn

    def paused(self) -> set[str]:
        """The workspaces waiting out a 429 now."""
        now = self._now()
        return {team for team, (_, until) in self._pauses.items() if until > now}

    def pause(self, team_id: str, seconds: float) -> None:
        """Slack said 429: nobody in this workspace sends before Retry-After has passed."""
        resume = self._now() + seconds
        pauses, until = self._pauses.get(team_id, (0, 0.0))
        self._pauses[team_id] = (pauses + 1, max(until, resume))

    def _tidy(self, now: float) -> None:
        """Forget channels whose next turn has come: a sweep over 10,000 DMs leaves no trace."""
        self._channel_next = {k: t for k, t in self._channel_next.items() if t > now}
        self._tidy_at = max(1024, 2 * len(self._channel_next))
