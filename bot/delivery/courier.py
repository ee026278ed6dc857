"""The Courier: claims due outbox rows and posts them to Slack. One per process (on
Services), so what it posted but could not record yet stays with it until it is recorded
(ledger.py).

Claiming moves the row's `not_before` forward by a lease, so a process that dies between the
claim and the send leaves the row due again once the lease runs out. A 429 (with Retry-After),
a 5xx or a timeout puts it back with a later `not_before`; a permanent error (the channel is
gone, the user deactivated) ends it as failed, with an audit row.

A claim is one conditional UPDATE; its messages go to their channels at once, each in its
turn from the pacer, a channel's and a connection's in order (order.py), each workspace
taking its turns in a window of its own (window.py). A click's `run` waits for its claim's
messages; the sweep's `flow` keeps claiming while earlier claims' messages are still on their
way, so a workspace whose turns come slowly (a backlog after a 429) holds back no other.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.delivery.ledger import Ledger, Posted
from bot.delivery.order import Order
from bot.delivery.outcomes import (
    NOT_INSTALLED,
    PAUSED,
    TRANSIENT_ERRORS,
    Delivery,
    retry_after_of,
)
from bot.delivery.places import Places
from bot.delivery.window import Windows
from bot.metrics import Metrics
from bot.security import SealBroken, Vault
from bot.slack.errors import DEAD_TOKEN_ERRORS, slack_error
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
FLOWING = 2 * BATCH  # the sweep's messages on their way at once...
HORIZON = 1.0  # ...no workspace more than this many seconds of its pace...
REFILL = 2  # ...and after a claim that found nothing, this many tried before the next one
CARD_WAIT = 2.0  # a notice whose thread's card another replica has yet to post: seconds
CANT_EDIT = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


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
        self.ledger = Ledger(sessions=sessions, clock=clock, metrics=metrics)
        self.order = Order()
        self.places = Places(sessions=sessions, ledger=self.ledger)
        self._lease_ends: dict[int, float] = {}  # claimed row id → when to stop trying it
        # the sweep's flow: its messages on their way, and what was tried since it last asked
        self._flowing: dict[int, asyncio.Task[Delivery]] = {}
        self._flowing_rows: dict[int, Outbox] = {}
        self._windows = Windows(AHEAD)
        self._tried: list[Delivery] = []
        self._failures: list[BaseException] = []
        self._progress = asyncio.Event()
        self._claimed_some, self._tried_since = True, 0
        self._cancelling = False

    async def run(self, *, ids: list[int] | None = None, limit: int = BATCH) -> list[Delivery]:
        """Claim what is due (only `ids`, when given) and send it: every channel at once, each
        message in its turn from the pacer, a channel's and a connection's in order (after
        those of other claims still on their way too). Returns when every one was tried."""
        await self.ledger.flush()  # what an earlier run posted but could not record yet
        claimed = await self._claim(ids=ids, limit=limit)
        if not claimed:
            return []
        tasks = await self._start(claimed, Windows(AHEAD))  # a click's, not behind a sweep's
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            await self.ledger.flush(quietly=True)

    async def flow(self) -> list[Delivery]:
        """The sweep's way: keep up to FLOWING messages on their way, claiming more as they
        go (no claim waits for another's slowest), no workspace more than about a second of
        its pace and no channel more than one. Returns what was tried since the last call;
        with messages on their way, waits until one is and there is room for a claim.
        `settle` waits for the rest."""
        await self.ledger.flush()
        room = FLOWING - len(self._flowing)
        refill = not self._flowing or self._claimed_some or self._tried_since >= REFILL
        if room >= BATCH // 2 and refill:
            await self._flow_more(min(room, BATCH))
        while self._flowing and (not self._tried or FLOWING - len(self._flowing) < BATCH // 2):
            self._progress.clear()
            await self._progress.wait()
        if self._failures:  # a message's try raised: the sweep stops here (settle: the rest)
            raise self._failures.pop(0)
        tried, self._tried = self._tried, []
        return tried

    async def settle(self) -> list[Delivery]:
        """Wait for every message `flow` has on its way (cancelled, they are cancelled too);
        what was tried since the last call."""
        try:
            while self._flowing:
                self._progress.clear()
                await self._progress.wait()
        except BaseException:
            tasks = list(self._flowing.values())
            self._cancelling = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._cancelling = False
            raise
        finally:
            await self.ledger.flush(quietly=True)
        tried, self._tried = self._tried, []
        if self._failures:
            failure, self._failures = self._failures[0], []
            raise failure
        return tried

    async def _flow_more(self, limit: int) -> None:
        holding = Counter(row.team_id for row in self._flowing_rows.values())
        busy = {row.channel for row in self._flowing_rows.values()}
        per_team = max(1, min(BATCH, math.ceil(HORIZON / self.pacer.gap)))
        room = {team: per_team - n for team, n in holding.items()}
        room |= dict.fromkeys(self.pacer.paused(), 0)  # a 429's wait: not even read
        claimed = await self._claim(ids=None, limit=limit, room=room, busy=busy)
        self._claimed_some, self._tried_since = bool(claimed), 0
        for row, task in zip(claimed, await self._start(claimed, self._windows), strict=True):
            self._flowing[row.id or 0], self._flowing_rows[row.id or 0] = task, row
            task.add_done_callback(functools.partial(self._flowed, row.id or 0))

    def _flowed(self, row_id: int, task: asyncio.Task[Delivery]) -> None:
        del self._flowing[row_id], self._flowing_rows[row_id]
        self._tried_since += 1
        self._progress.set()
        if task.cancelled():  # by settle's own cancelling, or the try raised CancelledError
            if not self._cancelling:
                self._failures.append(asyncio.CancelledError())
            return
        if (failure := task.exception()) is not None:
            self._failures.append(failure)
            return
        self._tried.append(task.result())

    async def _start(self, rows: list[Outbox], windows: Windows) -> list[asyncio.Task[Delivery]]:
        """Each message on its way, in id order, after its channel's and its connection's
        earlier ones."""
        await self.places.look_up(rows)
        lease_ends = asyncio.get_running_loop().time() + LEASE_SAFE
        tasks = []
        for row in rows:  # in id order
            self._lease_ends[row.id or 0] = lease_ends
            before, done = self.order.enter(row)
            tasks.append(asyncio.ensure_future(self._go(row, before, done, windows)))
        return tasks

    async def _go(
        self,
        row: Outbox,
        before: list[asyncio.Future[None]],
        done: asyncio.Future[None],
        windows: Windows,
    ) -> Delivery:
        try:
            await self.order.after(row, before)
            return await self._send(row, windows)
        finally:
            self.order.leave(row, done)
            self._lease_ends.pop(row.id or 0, None)

    def _lease_over(self, row: Outbox) -> bool:
        """Whether this row's lease is (nearly) over: another process may claim it now."""
        ends = self._lease_ends.get(row.id or 0)
        return ends is not None and asyncio.get_running_loop().time() > ends

    async def _claim(
        self,
        *,
        ids: list[int] | None,
        limit: int,
        room: dict[str, int] | None = None,
        busy: set[str] | None = None,
    ) -> list[Outbox]:
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
                skip=set(self.ledger.unrecorded),  # posted by this process, not recorded yet
                room=room,
                busy_channels=busy or (),
            )

    async def _send(self, row: Outbox, windows: Windows) -> Delivery:
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
        where = self.places.message_to_edit(row) if row.edit_of is not None else None
        if where is not None and where[0] != "posted":  # its message isn't there (yet)
            return await self._failed(
                row, f"nothing to edit ({where[0]})", where[0] == "waiting", 0
            )
        try:
            if where is None:
                channel = await self.places.channel(client, row)
                thread_ts = self.places.thread(row) if row.in_thread else None
                if self.places.awaits_card(row):  # another replica is posting it: soon
                    return await self._put_back(row, CARD_WAIT)
            async with windows.held(row.team_id, row.id):
                if where is not None:
                    return await self._edit(client, row, message, where[1], where[2])
                if (waited := await self._turn(row, channel)) is not None:
                    return waited
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
                self.pacer.pause(row.team_id, retry_after_of(exc) or 1.0)
            if error in DEAD_TOKEN_ERRORS:  # uninstalled, maybe by another replica's news
                self.forget(row.team_id)
            return await self._failed(row, error, transient, retry_after_of(exc))
        except (TimeoutError, aiohttp.ClientError) as exc:
            return await self._failed(row, type(exc).__name__, True, 0)
        root = row.in_thread and thread_ts is None
        return await self._sent(row, response["channel"], response["ts"], root=root)

    async def _turn(self, row: Outbox, channel: str) -> Delivery | None:
        """Wait for the message's turn from the pacer; a Delivery when it goes back instead."""
        try:
            await self.pacer.wait(row.team_id, channel, defer_over=DEFER_OVER)
        except Paused as paused:  # the claim's other workspaces don't wait for it
            return await self._put_back(row, paused.seconds)
        if self._lease_over(row):  # it waited too long: leave it to the next claim
            return Delivery(row.id or 0, row.purpose, ok=False, error="lease", retrying=True)
        return None

    async def _edit(
        self, client: AsyncWebClient, row: Outbox, message: dict[str, Any], channel: str, ts: str
    ) -> Delivery:
        """chat.update, in its turn like a post; a message Slack can no longer edit (deleted,
        say) is posted afresh instead, and later edits go to that one."""
        if (waited := await self._turn(row, channel)) is not None:
            return waited
        text, blocks = message["text"], message.get("blocks") or None
        try:
            await client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
        except SlackApiError as exc:
            if slack_error(exc) not in CANT_EDIT:
                raise
            if (waited := await self._turn(row, channel)) is not None:
                return waited
            fresh = await client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            self.places.moved(ts, fresh["ts"])
            await self.ledger.add(Posted(row, channel, fresh["ts"], False, moved_from=row.edit_of))
            return Delivery(row.id or 0, row.purpose, ok=True, channel=channel, ts=fresh["ts"])
        return await self._sent(row, channel, ts)

    async def _sent(self, row: Outbox, channel: str, ts: str, *, root: bool = False) -> Delivery:
        """Posted: the ledger records it with the others soon."""
        if root and row.connection_id:
            self.places.started(row.connection_id, ts)
        await self.ledger.add(Posted(row, channel, ts, root))
        return Delivery(row.id or 0, row.purpose, ok=True, channel=channel, ts=ts)

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
            await repo.fail_message(
                session=session, row=row, error=error, now=now, retry_at=retry_at
            )
        log.warning(
            "outbox #%s (%s) failed: %s%s",
            row.id,
            row.purpose,
            error,
            " (will retry)" if retrying else "",
        )
        return Delivery(row.id or 0, row.purpose, ok=False, error=error, retrying=retrying)
