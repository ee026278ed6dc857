"""The Courier: claims due outbox rows and posts them to Slack. One per process (on
Services), so what it posted but could not record yet stays with it until it is recorded.

Claiming moves the row's `not_before` forward by a lease, so a process that dies between the
claim and the send leaves the row due again once the lease runs out. A 429 (with Retry-After),
a 5xx or a timeout puts it back with a later `not_before`; a permanent error (the channel is
gone, the user deactivated) ends it as failed, with an audit row.

A run claims a batch in one conditional UPDATE and sends to its channels at once (a
channel's messages, and a connection's, in order; the pacer spacing them all), and records
what went out a batch at a time: every RECORD_EVERY messages or RECORD_WITHIN seconds,
whichever comes first, so a process that dies after posting leaves at most that much to be
sent again after the lease. When recording fails, the posted rows stay in memory: the next
run records them before it claims anything, and no run of this process claims them again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.delivery.outcomes import (
    NOT_INSTALLED,
    PAUSED,
    TRANSIENT_ERRORS,
    Delivery,
    retry_after_of,
)
from bot.delivery.window import Window
from bot.installs.workspaces import DEAD_TOKEN_ERRORS
from bot.metrics import Metrics
from bot.security import SealBroken, Vault
from bot.slack.errors import slack_error
from bot.slack.pacing import Pacer, Paused
from storage import repo
from storage.db import transaction
from storage.models import Outbox

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
LEASE_SAFE = LEASE.total_seconds() * 0.75  # a row not sent by then is left to the next claim
MAX_ATTEMPTS = 12
BATCH = 50
CANDIDATES = 4  # a claim reads up to this many times BATCH due rows to choose from
AHEAD = 8  # messages holding a turn at once (waiting for it, or being posted)
DEFER_OVER = 0.0  # a workspace paused (a 429) this long or more: its messages wait in the table
RECORD_EVERY = 50  # posted messages recorded in one transaction...
RECORD_WITHIN = 0.5  # ...or after this many seconds, whichever comes first


@dataclass(frozen=True)
class _Posted:
    row: Outbox
    channel: str
    ts: str
    root: bool  # a notice that started its connection's thread


class Courier:
    """Claims due outbox rows and posts them to Slack, with the workspace's client
    (`client_for(team_id)`), at the pacer's pace."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        clock: Clock,
        pacer: Pacer,
        metrics: Metrics,
        client_for: Callable[[str], Awaitable[AsyncWebClient | None]],
        forget: Callable[[str], None] = lambda team_id: None,
    ) -> None:
        self.sessions, self.vault, self.clock = sessions, vault, clock
        self.pacer, self.metrics, self.client_for = pacer, metrics, client_for
        self.forget = forget
        self._dms: dict[tuple[str, str], str] = {}  # (team, user) → the bot's IM with them
        self._opening: dict[tuple[str, str], asyncio.Lock] = {}
        self._roots: dict[int, str] = {}  # connection id → its notice thread's ts
        self._posted: list[_Posted] = []  # sent, not yet recorded
        self._unrecorded: set[int] = set()  # their ids, and those being recorded: not claimed
        self._posted_since = 0.0
        self._lease_ends: dict[int, float] = {}  # claimed row id → when to stop trying it
        self._turns: dict[int, Window] = {}  # claimed row id → its run's window

    async def run(self, *, ids: list[int] | None = None, limit: int = BATCH) -> list[Delivery]:
        """Claim what is due (only `ids`, when given) and send it: every channel at once, each
        message in its turn from the pacer, a channel's and a connection's in order."""
        await self._record_posted()  # what an earlier run posted but could not record yet
        claimed = await self._claim(ids=ids, limit=limit)
        if not claimed:
            return []
        await self._look_up(claimed)
        lanes: dict[tuple[str, str], list[Outbox]] = defaultdict(list)
        after: dict[int, int] = {}  # row → the one before it for its connection
        latest: dict[int, int] = {}
        for row in claimed:  # in id order
            lanes[row.team_id, row.channel].append(row)
            if row.connection_id is not None:
                if row.connection_id in latest:
                    after[row.id or 0] = latest[row.connection_id]
                latest[row.connection_id] = row.id or 0
        sent = {row.id or 0: asyncio.Event() for row in claimed}  # tried, whatever came of it
        lease_ends = asyncio.get_running_loop().time() + LEASE_SAFE
        self._lease_ends |= {row.id or 0: lease_ends for row in claimed}
        turns = Window(AHEAD)  # a run's own: a click's message doesn't queue behind a sweep's
        self._turns |= {row.id or 0: turns for row in claimed}

        async def lane(rows: list[Outbox]) -> list[Delivery]:
            """A channel's messages in order, each after its connection's earlier one (the
            DM before its notice): waits only on lower ids, so never on each other."""
            deliveries = []
            for row in rows:
                if (row.id or 0) in after:
                    await sent[after[row.id or 0]].wait()
                try:
                    deliveries.append(await self._send(row))
                finally:
                    sent[row.id or 0].set()
            return deliveries

        tasks = [asyncio.ensure_future(lane(rows)) for rows in lanes.values()]
        try:
            results = await asyncio.gather(*tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            for row in claimed:
                self._lease_ends.pop(row.id or 0, None)
                self._turns.pop(row.id or 0, None)
            await self._record_posted(quietly=True)
        by_id = {d.id: d for deliveries in results for d in deliveries}
        return [by_id[row.id or 0] for row in claimed]

    def _lease_over(self, row: Outbox) -> bool:
        """Whether this row's lease is (nearly) over: another process may claim it now."""
        ends = self._lease_ends.get(row.id or 0)
        return ends is not None and asyncio.get_running_loop().time() > ends

    async def _claim(self, *, ids: list[int] | None, limit: int) -> list[Outbox]:
        # No more for one channel than its pace lets out while the batch's others go: the
        # batch then takes as long as the workspace's pace says, not a second a notice.
        most = max(1, math.ceil(limit * self.pacer.gap / self.pacer.per_channel_seconds))
        async with transaction(self.sessions) as session:
            return await repo.claim_due_messages(
                session=session,
                now=self.clock.now(),
                limit=limit,
                candidates=limit * CANDIDATES,
                per_channel=most,
                lease=LEASE,
                ids=ids,
                skip=set(self._unrecorded),  # posted by this process, not recorded yet
            )

    async def _look_up(self, rows: list[Outbox]) -> None:
        """The batch's known DM channels and thread roots, in two queries (not one a row)."""
        users = {
            (row.team_id, row.channel)
            for row in rows
            if row.channel.startswith(("U", "W")) and (row.team_id, row.channel) not in self._dms
        }
        threads = {
            row.connection_id
            for row in rows
            if row.in_thread and row.connection_id and row.connection_id not in self._roots
        }
        if not users and not threads:
            return
        async with self.sessions() as session:
            for team_id in {team for team, _ in users}:
                self._dms |= await repo.get_dm_channels(
                    session=session, team_id=team_id, user_ids=[u for t, u in users if t == team_id]
                )
            if threads:
                self._roots |= await repo.thread_roots(session=session, connection_ids=threads)

    async def _send(self, row: Outbox) -> Delivery:
        assert row.id is not None
        if (client := await self.client_for(row.team_id)) is None:  # nothing with a dead token
            return await self._failed(row, NOT_INSTALLED, False, 0)
        try:
            message = (
                json.loads(self.vault.open(row.sealed))
                if row.sealed
                else {"text": row.text, "blocks": row.blocks}
            )
        except SealBroken:
            return await self._failed(row, "sealed with another key", False, 0)
        pacer = self.pacer
        try:
            channel = await self._channel(client, row)
            thread_ts = self._thread(row) if row.in_thread else None
            async with self._turns[row.id].held(row.id):
                try:
                    await pacer.wait(row.team_id, channel, defer_over=DEFER_OVER)
                except Paused as paused:  # the batch's other workspaces don't wait for it
                    return await self._put_back(row, paused.seconds)
                if self._lease_over(row):  # it waited too long: leave it to the next claim
                    return Delivery(row.id, row.purpose, ok=False, error="lease", retrying=True)
                response = await client.chat_postMessage(
                    channel=channel,
                    text=message["text"],
                    blocks=message.get("blocks") or None,
                    thread_ts=thread_ts,
                )
        except SlackApiError as exc:
            error = slack_error(exc)
            status = exc.response.status_code
            transient = status == 429 or status >= 500 or error in TRANSIENT_ERRORS
            if status == 429:
                pacer.pause(row.team_id, retry_after_of(exc) or 1.0)
            if error in DEAD_TOKEN_ERRORS:  # uninstalled, maybe by another replica's news
                self.forget(row.team_id)
            return await self._failed(row, error, transient, retry_after_of(exc))
        except (TimeoutError, aiohttp.ClientError) as exc:
            return await self._failed(row, type(exc).__name__, True, 0)
        root = row.in_thread and thread_ts is None
        return await self._sent(row, response["channel"], response["ts"], root=root)

    async def _channel(self, client: AsyncWebClient, row: Outbox) -> str:
        """A user id means "DM this user": open the IM once and remember it."""
        if not row.channel.startswith(("U", "W")):
            return row.channel
        key = (row.team_id, row.channel)
        if key in self._dms:
            return self._dms[key]
        async with self._opening.setdefault(key, asyncio.Lock()):  # one open per user
            if key in self._dms:
                return self._dms[key]
            # not in the database either (`_look_up` asked it for the whole batch): open it
            opened = await client.conversations_open(users=row.channel)
            cached = str(opened["channel"]["id"])
            async with transaction(self.sessions) as session:
                await repo.save_dm_channel(
                    session=session, team_id=row.team_id, user_id=row.channel, channel_id=cached
                )
            self._dms[key] = cached
        self._opening.pop(key, None)
        return cached

    def _thread(self, row: Outbox) -> str | None:
        """The connection's notice thread (None: this notice starts it). `_look_up` read the
        batch's roots; a root posted in this run is added as it goes out, before the
        connection's later messages (they wait for it)."""
        return self._roots.get(row.connection_id) if row.connection_id is not None else None

    async def _sent(self, row: Outbox, channel: str, ts: str, *, root: bool = False) -> Delivery:
        """Posted: remember it, and record it with the others soon (see RECORD_EVERY)."""
        if root and row.connection_id:
            self._roots.setdefault(row.connection_id, ts)
        loop = asyncio.get_running_loop()
        if not self._posted:
            self._posted_since = loop.time()
        self._posted.append(_Posted(row, channel, ts, root))
        self._unrecorded.add(row.id or 0)
        if len(self._posted) >= RECORD_EVERY or loop.time() - self._posted_since >= RECORD_WITHIN:
            await self._record_posted(quietly=True)
        return Delivery(row.id or 0, row.purpose, ok=True, channel=channel, ts=ts)

    async def _record_posted(self, *, quietly: bool = False) -> None:
        """Mark what was posted as sent, in one transaction: the rows (their payload, maybe a
        code, is dropped), where invitations and threads landed, and the audit rows. When the
        database fails, they stay to be recorded by the next try (the next run begins so)."""
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
        self._unrecorded -= {p.row.id or 0 for p in posted}

    async def _record(self, posted: list[_Posted]) -> None:
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
                await self._landed(session, p, now)
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

    @staticmethod
    async def _landed(session: AsyncSession, p: _Posted, now: datetime) -> None:
        """Where an invitation's DM landed; where a connection's thread starts."""
        row = p.row
        if row.purpose == "invitation_dm" and row.invitation_id:
            await repo.mark_dm_landed(
                session=session,
                invitation_id=row.invitation_id,
                channel=p.channel,
                ts=p.ts,
                now=now,
            )
        if p.root and row.connection_id:
            await repo.mark_thread_started(
                session=session, connection_id=row.connection_id, channel=p.channel, ts=p.ts
            )

    async def _put_back(self, row: Outbox, seconds: float) -> Delivery:
        """Due again when its workspace's pause ends, the attempt given back: a 429 in one
        workspace costs another's messages nothing, and this one none of its tries."""
        async with transaction(self.sessions) as session:
            await repo.put_back_message(
                session=session,
                outbox_id=row.id or 0,
                attempts=row.attempts,
                not_before=self.clock.now() + timedelta(seconds=seconds),
            )
        return Delivery(row.id or 0, row.purpose, ok=False, error=PAUSED, retrying=True)

    async def _failed(
        self, row: Outbox, error: str, transient: bool, retry_after: float
    ) -> Delivery:
        now = self.clock.now()
        retrying = transient and row.attempts < MAX_ATTEMPTS
        retry_at = None
        if retrying:
            backoff = min(2 ** max(row.attempts - 1, 0) * 5, 3600)
            retry_at = now + timedelta(seconds=max(retry_after, backoff))
        async with transaction(self.sessions) as session:
            await repo.mark_send_failed(
                session=session,
                outbox_id=row.id or 0,
                attempts=row.attempts,
                error=error,
                now=now,
                retry_at=retry_at,
            )
            if not retrying:
                await repo.add_audit(
                    session=session,
                    team_id=row.team_id,
                    connection_id=row.connection_id,
                    invitation_id=row.invitation_id,
                    actor="system",
                    action=f"{row.purpose}_failed",
                    detail=f"to {row.channel}: {error}",
                    now=now,
                )
        log.warning(
            "outbox #%s (%s) failed: %s%s",
            row.id,
            row.purpose,
            error,
            " (will retry)" if retrying else "",
        )
        return Delivery(row.id or 0, row.purpose, ok=False, error=error, retrying=retrying)
