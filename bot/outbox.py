"""The outbox: every DM and notice is written to the database in the same transaction as the
change that calls for it, then sent by whichever process claims it first.

Claiming moves the row's `not_before` forward by a lease, so a process that dies between the
claim and the send leaves the row due again once the lease runs out. A 429 (with Retry-After),
a 5xx or a timeout puts it back with a later `not_before`; a permanent error (the channel is
gone, the user deactivated) ends it as failed, with an audit row.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.security import SealBroken, Vault
from bot.services import Services
from bot.slack_errors import slack_error
from storage import repo
from storage.db import claim, transaction
from storage.models import Connection, Invitation, Outbox

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
BATCH = 50
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


async def enqueue(
    session: AsyncSession,
    *,
    team_id: str,
    key: str,
    purpose: str,
    channel: str,
    message: dict[str, Any],
    now: datetime,
    connection_id: int | None = None,
    invitation_id: int | None = None,
    in_thread: bool = False,
    seal_with: Vault | None = None,
) -> Outbox | None:
    """Add a message unless one with this key exists already (then None). A message that
    carries a secret (the invitation code) is sealed with `seal_with` until it is sent."""
    existing = (await session.exec(select(Outbox.id).where(Outbox.key == key))).first()
    if existing is not None:
        return None
    row = Outbox(
        team_id=team_id,
        key=key,
        purpose=purpose,
        channel=channel,
        in_thread=in_thread,
        connection_id=connection_id,
        invitation_id=invitation_id,
        text="(sealed)" if seal_with else message["text"][:4000],
        blocks=[] if seal_with else message.get("blocks") or [],
        sealed=seal_with.seal(json.dumps(message)) if seal_with else None,
        not_before=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


@dataclass(frozen=True)
class Delivery:
    id: int
    purpose: str
    ok: bool
    error: str | None = None
    retrying: bool = False
    channel: str | None = None
    ts: str | None = None


class Courier:
    """Claims due outbox rows and posts them to Slack."""

    def __init__(self, services: Services) -> None:
        self.s = services

    async def run(self, *, ids: list[int] | None = None, limit: int = BATCH) -> list[Delivery]:
        """Claim what is due (only `ids`, when given) and send it."""
        claimed = await self._claim(ids=ids, limit=limit)
        return [await self._send(row) for row in claimed]

    async def _claim(self, *, ids: list[int] | None, limit: int) -> list[Outbox]:
        now = self.s.clock.now()
        due = (
            select(Outbox)
            .where(
                col(Outbox.sent_at).is_(None),
                col(Outbox.failed_at).is_(None),
                col(Outbox.not_before) <= now,
            )
            .order_by(col(Outbox.id))
            .limit(limit)
        )
        if ids is not None:
            due = due.where(col(Outbox.id).in_(ids))
        async with transaction(self.s.sessions) as session:
            return await claim(
                session,
                due,
                lambda row: (
                    update(Outbox)
                    .where(col(Outbox.id) == row.id, col(Outbox.not_before) == row.not_before)
                    .where(col(Outbox.sent_at).is_(None))
                    .values(not_before=now + LEASE, attempts=Outbox.attempts + 1)
                ),
            )

    async def _send(self, row: Outbox) -> Delivery:
        assert row.id is not None
        client = self.s.slack_client(row.team_id)
        try:
            message = (
                json.loads(self.s.vault.open(row.sealed))
                if row.sealed
                else {"text": row.text, "blocks": row.blocks}
            )
        except SealBroken:
            return await self._failed(row, "sealed with another key", False, 0)
        pacer = self.s.pacer
        assert pacer is not None
        try:
            channel = await self._channel(client, row)
            thread_ts = await self._thread(row) if row.in_thread else None
            await pacer.wait(row.team_id, channel)
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
                pacer.pause(row.team_id, _retry_after(exc) or 1.0)
            return await self._failed(row, error, transient, _retry_after(exc))
        except (TimeoutError, aiohttp.ClientError) as exc:
            return await self._failed(row, type(exc).__name__, True, 0)
        return await self._sent(row, response["channel"], response["ts"])

    async def _channel(self, client: AsyncWebClient, row: Outbox) -> str:
        """A user id means "DM this user": open the IM once and remember it."""
        if not row.channel.startswith(("U", "W")):
            return row.channel
        async with self.s.sessions() as session:
            cached = await repo.get_dm_channel(session, team_id=row.team_id, user_id=row.channel)
        if cached:
            return cached
        opened = await client.conversations_open(users=row.channel)
        channel_id = str(opened["channel"]["id"])
        async with transaction(self.s.sessions) as session:
            await repo.save_dm_channel(
                session, team_id=row.team_id, user_id=row.channel, channel_id=channel_id
            )
        return channel_id

    async def _thread(self, row: Outbox) -> str | None:
        async with self.s.sessions() as session:
            connection = await session.get(Connection, row.connection_id)
        return connection.notice_ts if connection else None

    async def _sent(self, row: Outbox, channel: str, ts: str) -> Delivery:
        now = self.s.clock.now()
        async with transaction(self.s.sessions) as session:
            result = await session.exec(  # type: ignore[call-overload]
                update(Outbox)
                .where(col(Outbox.id) == row.id, col(Outbox.attempts) == row.attempts)
                .values(
                    sent_at=now,
                    posted_channel=channel,
                    posted_ts=ts,
                    last_error=None,
                    blocks=[],  # sent: the payload (maybe a code) is not kept
                    text="(sent)",
                    sealed=None,
                )
            )
            if result.rowcount != 1:
                log.warning("outbox #%s was re-claimed while it was being sent", row.id)
            if row.purpose == "reminder":
                self.s.metrics.reminders.inc()
            await self._record(session, row, channel, ts, now)
        return Delivery(row.id or 0, row.purpose, ok=True, channel=channel, ts=ts)

    async def _record(
        self, session: AsyncSession, row: Outbox, channel: str, ts: str, now: datetime
    ) -> None:
        """What a sent message means for the records: the DM's place, the thread's root."""
        if row.purpose == "invitation_dm" and row.invitation_id:
            invitation = await session.get(Invitation, row.invitation_id)
            if invitation is not None:
                invitation.dm_channel, invitation.dm_ts, invitation.updated_at = channel, ts, now
                session.add(invitation)
        if row.connection_id and not row.channel.startswith(("U", "W")):
            connection = await session.get(Connection, row.connection_id)
            if connection is not None and connection.notice_ts is None:
                connection.notice_channel, connection.notice_ts = channel, ts
                session.add(connection)
        await repo.add_audit(
            session,
            team_id=row.team_id,
            connection_id=row.connection_id,
            invitation_id=row.invitation_id,
            actor="system",
            action=f"{row.purpose}_sent",
            detail=f"to {row.channel}",
            now=now,
        )

    async def _failed(
        self, row: Outbox, error: str, transient: bool, retry_after: float
    ) -> Delivery:
        now = self.s.clock.now()
        retrying = transient and row.attempts < MAX_ATTEMPTS
        values: dict[str, Any] = {"last_error": error[:255]}
        if retrying:
            backoff = min(2 ** max(row.attempts - 1, 0) * 5, 3600)
            values["not_before"] = now + timedelta(seconds=max(retry_after, backoff))
        else:
            values["failed_at"] = now
        async with transaction(self.s.sessions) as session:
            await session.exec(  # type: ignore[call-overload]
                update(Outbox)
                .where(col(Outbox.id) == row.id, col(Outbox.attempts) == row.attempts)
                .values(**values)
            )
            if not retrying:
                await repo.add_audit(
                    session,
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


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", {}) or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0
