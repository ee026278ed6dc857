"""The Courier's ledger: what was posted, recorded as sent a batch at a time.

Every RECORD_EVERY messages or RECORD_WITHIN seconds, whichever comes first, one transaction
marks them sent (their payload, maybe a code, dropped), records where invitations and threads
landed and adds their audit rows. A process that dies after posting leaves at most that much
to be sent again after the lease. When recording fails, the posted rows stay here: the next
try records them, and no claim of this process takes them again (`unrecorded`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.metrics import Metrics
from storage import repo
from storage.db import transaction
from storage.models import Outbox

log = logging.getLogger(__name__)

RECORD_EVERY = 50  # posted messages recorded in one transaction...
RECORD_WITHIN = 0.5  # ...or after this many seconds, whichever comes first


@dataclass(frozen=True)
class Posted:
    row: Outbox
    channel: str
    ts: str
    root: bool  # a notice that started its connection's thread
    moved_from: int | None = None  # an edit posted afresh: the row whose message it replaces


class Ledger:
    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, metrics: Metrics
    ) -> None:
        self.sessions, self.clock, self.metrics = sessions, clock, metrics
        self._posted: list[Posted] = []  # sent, not yet recorded
        self.unrecorded: set[int] = set()  # their ids, and those being recorded: not claimed
        self._since = 0.0

    async def add(self, posted: Posted) -> None:
        """Posted: remember it, and record it with the others soon (see RECORD_EVERY)."""
        loop = asyncio.get_running_loop()
        if not self._posted:
            self._since = loop.time()
        self._posted.append(posted)
        self.unrecorded.add(posted.row.id or 0)
        if len(self._posted) >= RECORD_EVERY or loop.time() - self._since >= RECORD_WITHIN:
            await self.flush(quietly=True)

    def posted_at(self, row_id: int) -> tuple[str, str] | None:
        """Where a message posted but not recorded yet went (its edits need it)."""
        for p in reversed(self._posted):  # the latest: an edit may have posted it afresh
            if p.row.id == row_id or p.moved_from == row_id:
                return p.channel, p.ts
        return None

    async def flush(self, *, quietly: bool = False) -> None:
        """Record what was posted, in one transaction. When the database fails, it stays to be
        recorded by the next try (raising, unless `quietly`)."""
        posted, self._posted = self._posted, []
        if not posted:
            return
        try:
            await self._record(posted)
        except Exception as exc:
            self._posted[:0] = posted
            if not quietly:
                raise
            log.warning("%d sent message(s) not recorded yet: %s", len(posted), type(exc).__name__)
            return
        self.unrecorded -= {p.row.id or 0 for p in posted}

    async def _record(self, posted: list[Posted]) -> None:
        now = self.clock.now()
        async with transaction(self.sessions) as session:
            changed = await repo.mark_sent(
                session=session,
                sent=[(p.row.id or 0, p.row.attempts, p.channel, p.ts) for p in posted],
                now=now,
            )
            if changed is not None and changed != len(posted):
                log.warning(
                    "%d outbox row(s) were re-claimed while being sent", len(posted) - changed
                )
            for p in posted:
                await _landed(session, p, now)
            await repo.add_audits(
                session=session,
                events=[
                    {
                        "team_id": p.row.team_id,
                        "connection_id": p.row.connection_id,
                        "invitation_id": p.row.invitation_id,
                        "actor": "system",
                        "action": f"{p.row.purpose}_sent",
                        "detail": f"to {p.row.channel}",
                        "at": now,
                    }
                    for p in posted
                ],
            )
        self.metrics.reminders.inc(sum(p.row.purpose == "reminder" for p in posted))


async def _landed(session: AsyncSession, p: Posted, now: datetime) -> None:
    """Where an invitation's DM landed; where a connection's thread starts."""
    row = p.row
    if row.purpose == "invitation_dm" and row.invitation_id:
        await repo.mark_dm_landed(
            session=session, invitation_id=row.invitation_id, channel=p.channel, ts=p.ts, now=now
        )
    if p.moved_from is not None:
        await repo.move_message(session=session, outbox_id=p.moved_from, channel=p.channel, ts=p.ts)
    if p.root and row.connection_id:
        await repo.mark_thread_started(
            session=session, connection_id=row.connection_id, channel=p.channel, ts=p.ts
        )
