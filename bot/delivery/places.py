"""Where each of the Courier's messages goes: a DM's channel (the IM opened once, cached and
saved), a notice's thread (the connection's first notice starts it), and an edit's message
(where the row it edits posted it)."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.ledger import Ledger
from storage import repo
from storage.db import transaction
from storage.models import Outbox
from storage.repo.edits import Where


def is_user(channel: str) -> bool:
    """A user id in a row's channel means "DM this user"."""
    return channel.startswith(("U", "W"))


class Places:
    def __init__(self, *, sessions: async_sessionmaker[AsyncSession], ledger: Ledger) -> None:
        self.sessions, self.ledger = sessions, ledger
        self._dms: dict[tuple[str, str], str] = {}  # (team, user) → the bot's IM with them
        self._opening: dict[tuple[str, str], asyncio.Lock] = {}
        self._roots: dict[int, str] = {}  # connection id → its notice thread's ts
        self._edited: dict[int, Where] = {}  # row id → where its message is (for its edits)
        self._carded: set[int] = set()  # connections whose thread starts at their card

    async def look_up(self, rows: list[Outbox]) -> None:
        """A claim's known DM channels, thread roots and messages to edit, in a few queries
        (not one a row)."""
        users = {
            (row.team_id, row.channel)
            for row in rows
            if is_user(row.channel) and (row.team_id, row.channel) not in self._dms
        }
        threads = {
            row.connection_id
            for row in rows
            if row.in_thread and row.connection_id and row.connection_id not in self._roots
        }
        edits = {row.edit_of for row in rows if row.edit_of is not None}
        if not users and not threads and not edits:
            return
        async with self.sessions() as session:
            for team_id in {team for team, _ in users}:
                self._dms |= await repo.get_dm_channels(
                    session=session, team_id=team_id, user_ids=[u for t, u in users if t == team_id]
                )
            if threads:
                self._roots |= await repo.thread_roots(session=session, connection_ids=threads)
                rootless = threads - set(self._roots)
                if rootless:
                    self._carded |= await repo.connections_with_a_card(
                        session=session, connection_ids=rootless
                    )
            if edits:
                if len(self._edited) > 10_000:
                    self._edited.clear()
                self._edited |= await repo.messages_to_edit(session=session, outbox_ids=edits)

    async def channel(self, client: AsyncWebClient, row: Outbox) -> str:
        """The row's channel; for a user, the bot's IM with them (opened once)."""
        if not is_user(row.channel):
            return row.channel
        key = (row.team_id, row.channel)
        if key in self._dms:
            return self._dms[key]
        async with self._opening.setdefault(key, asyncio.Lock()):  # one open per user
            if key in self._dms:
                return self._dms[key]
            # not in the database either (`look_up` asked it for the whole claim): open it
            opened = await client.conversations_open(users=row.channel)
            cached = str(opened["channel"]["id"])
            async with transaction(self.sessions) as session:
                await repo.save_dm_channel(
                    session=session, team_id=row.team_id, user_id=row.channel, channel_id=cached
                )
            self._dms[key] = cached
        self._opening.pop(key, None)
        return cached

    def thread(self, row: Outbox) -> str | None:
        """The connection's notice thread (None: this notice starts it). `look_up` read the
        claim's roots; a root posted meanwhile is added as it goes out, before the
        connection's later messages (they wait for it)."""
        return self._roots.get(row.connection_id) if row.connection_id is not None else None

    def awaits_card(self, row: Outbox) -> bool:
        """A notice whose thread is to start at its connection's card, not posted yet (by
        another replica, say): it waits rather than start a thread of its own."""
        return (
            row.in_thread
            and row.purpose != "card"
            and row.connection_id in self._carded
            and self.thread(row) is None
        )

    def started(self, connection_id: int, ts: str) -> None:
        self._roots.setdefault(connection_id, ts)

    def message_to_edit(self, row: Outbox) -> Where:
        """Where the message this edit changes is: posted (by this process, maybe not
        recorded yet, or as `look_up` read it), still waiting to be sent, or gone."""
        assert row.edit_of is not None
        if (posted := self.ledger.posted_at(row.edit_of)) is not None:
            return ("posted", *posted)
        return self._edited.get(row.edit_of, ("gone", None, None))

    def moved(self, old_ts: str, ts: str) -> None:
        """The message was posted afresh (it could not be edited): a thread that started
        there starts at the new one."""
        for connection_id, root in list(self._roots.items()):
            if root == old_ts:
                self._roots[connection_id] = ts
