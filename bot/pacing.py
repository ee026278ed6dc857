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
        self._lock = asyncio.Lock()

    async def wait(self, team_id: str, channel: str) -> float:
        """Wait for this message's turn; returns how long it waited."""
        async with self._lock:  # turns are handed out in order
            now = self._now()
            turn = max(
                now,
                self._team_next.get(team_id, 0.0),
                self._channel_next.get((team_id, channel), 0.0),
            )
            self._team_next[team_id] = turn + self.gap
            self._channel_next[(team_id, channel)] = turn + self.per_channel_seconds
        if turn > now:
            await self._sleep(turn - now)
        return turn - now

    def pause(self, team_id: str, seconds: float) -> None:
        """Slack said 429: nobody in this workspace sends before Retry-After has passed."""
        resume = self._now() + seconds
        self._team_next[team_id] = max(self._team_next.get(team_id, 0.0), resume)
