"""Keeping to Slack's pace for messages: about one a second per channel, a few hundred a
minute per workspace, and a pause when Slack answers 429 with Retry-After.

Each process paces itself; with several replicas, set SLACK_MESSAGES_PER_MINUTE to the
workspace's budget divided by the number of replicas.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any


class Pacer:
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
        self._team_next: dict[str, float] = {}
        self._channel_next: dict[tuple[str, str], float] = {}
        self._pauses: dict[str, tuple[int, float]] = {}  # team → (pauses so far, until when)
        self._tidy_at = 1024
        self._lock = asyncio.Lock()

    async def wait(self, team_id: str, channel: str) -> float:
        """Wait for this message's turn; returns how long it waited. A turn handed out before
        a 429 and due before its Retry-After has passed is void: the message takes a new one."""
        waited = 0.0
        while True:
            async with self._lock:  # turns are handed out in order
                now = self._now()
                pauses, _ = self._pauses.get(team_id, (0, 0.0))
                turn = max(
                    now,
                    self._team_next.get(team_id, 0.0),
                    self._channel_next.get((team_id, channel), 0.0),
                )
                self._team_next[team_id] = turn + self.gap
                self._channel_next[(team_id, channel)] = turn + self.per_channel_seconds
                if len(self._channel_next) > self._tidy_at:
                    self._tidy(now)
            if turn > now:
                await self._sleep(turn - now)
            waited += turn - now
            paused, until = self._pauses.get(team_id, (0, 0.0))
            if paused == pauses or until <= turn:
                return waited

    def pause(self, team_id: str, seconds: float) -> None:
        """Slack said 429: nobody in this workspace sends before Retry-After has passed."""
        resume = self._now() + seconds
        self._team_next[team_id] = max(self._team_next.get(team_id, 0.0), resume)
        pauses, until = self._pauses.get(team_id, (0, 0.0))
        self._pauses[team_id] = (pauses + 1, max(until, resume))

    def _tidy(self, now: float) -> None:
        """Forget channels whose next turn has come: a sweep over 10,000 DMs leaves no trace."""
        self._channel_next = {k: t for k, t in self._channel_next.items() if t > now}
        self._tidy_at = max(1024, 2 * len(self._channel_next))
