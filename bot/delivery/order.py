"""Which message waits for which, across the Courier's claims: a channel's messages go out in
the order they were claimed, and so do a connection's (the partner's DM before its notice in
the admin's channel), whichever claim took them. A message waits only for one claimed before
it, so no two ever wait for each other."""

from __future__ import annotations

import asyncio

from storage.models import Outbox


class Order:
    def __init__(self) -> None:
        self._channels: dict[tuple[str, str], asyncio.Future[None]] = {}  # → its last message
        self._connections: dict[int, asyncio.Future[None]] = {}
        self._waiting: dict[int, int] = {}  # connection id → its messages waiting (0: none)

    def enter(self, row: Outbox) -> tuple[list[asyncio.Future[None]], asyncio.Future[None]]:
        """What this message waits for (its channel's and its connection's last ones, still
        on their way), and its own future, to be left with `leave`."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        key = (row.team_id, row.channel)
        before = [self._channels.get(key)]
        self._channels[key] = done
        if row.connection_id is not None:
            before.append(self._connections.get(row.connection_id))
            self._connections[row.connection_id] = done
        return [f for f in before if f is not None and not f.done()], done

    def waiting(self, connection_id: int | None) -> int:
        """How many of this connection's messages wait for an earlier one."""
        return self._waiting.get(connection_id or 0, 0)

    async def after(self, row: Outbox, before: list[asyncio.Future[None]]) -> None:
        """Wait for `before` (from `enter`)."""
        if not before:
            return
        key = row.connection_id or 0
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            for earlier in before:
                await earlier
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]

    def leave(self, row: Outbox, done: asyncio.Future[None]) -> None:
        """Tried, whatever came of it: the messages after it go on."""
        if not done.done():
            done.set_result(None)
        key = (row.team_id, row.channel)
        if self._channels.get(key) is done:
            del self._channels[key]
        if row.connection_id is not None and self._connections.get(row.connection_id) is done:
            del self._connections[row.connection_id]
