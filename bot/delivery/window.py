"""The Courier's windows: how many messages of a workspace take turns from the pacer at once."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager


class Window:
    """At most `size` messages take turns from the pacer at once; a freed place goes to the
    oldest message waiting (the lowest outbox id), so a notice that waited for its DM is not
    queued behind the whole batch."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: list[tuple[int, int, asyncio.Future[None]]] = []  # a heap, by outbox id
        self._arrivals = itertools.count()

    @asynccontextmanager
    async def held(self, key: int) -> AsyncIterator[None]:
        await self._acquire(key)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, key: int) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        place = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (key, next(self._arrivals), place))
        try:
            await place
        except asyncio.CancelledError:
            if place.done() and not place.cancelled():
                self._release()  # given the place just as it was cancelled: pass it on
            raise

    def _release(self) -> None:
        while self._waiting:
            _, _, place = heapq.heappop(self._waiting)
            if not place.done():
                place.set_result(None)
                return
        self._free += 1


class Windows:
    """A Window for each workspace: a workspace whose turns come slowly (a backlog, a 429
    just over) holds only its own places, never another workspace's."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._windows: dict[str, Window] = {}

    def held(self, team_id: str, key: int) -> AbstractAsyncContextManager[None]:
        if (window := self._windows.get(team_id)) is None:
            window = self._windows[team_id] = Window(self.size)
        return window.held(key)
