"""The outbox: messages written with the change that calls for them, claimed by whichever
process gets there first (a lease: `not_before` moves forward), then recorded as sent or
failed."""

from __future__ import annotations

import math
from collections import Counter, deque
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import claim_all
from storage.models import Connection, Invitation, Outbox
from storage.repo.audit import add_audit


async def enqueue_message(*, session: AsyncSession, values: dict[str, Any]) -> Outbox | None:
    """Add a message (an outbox row's values) unless one with its key exists already (then
    None)."""
    existing = (await session.exec(select(Outbox.id).where(Outbox.key == values["key"]))).first()
    if existing is not None:
        return None
    row = Outbox(**values)
    session.add(row)
    await session.flush()
    return row


async def enqueue_messages(*, session: AsyncSession, rows: list[dict[str, Any]]) -> list[int]:
    """Add many messages in one statement, skipping those whose key exists already (or comes
    twice); the new rows' ids."""
    if not rows:
        return []
    keys = [row["key"] for row in rows]
    existing = set((await session.exec(select(Outbox.key).where(col(Outbox.key).in_(keys)))).all())
    new = []
    for row in rows:
        if row["key"] not in existing:
            existing.add(row["key"])
            new.append(row)
    if not new:
        return []
    table = Outbox.__table__  # Core, not the ORM's bulk insert: no per-row bookkeeping
    result = await session.exec(  # type: ignore[call-overload]
        insert(table).returning(table.c.id, sort_by_parameter_order=True),  # type: ignore[attr-defined]
        params=new,
    )
    return [int(row_id) for row_id in result.scalars().all()]


async def claim_due_messages(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    candidates: int,
    per_channel: int,
    lease: timedelta,
    ids: list[int] | None = None,
    skip: Collection[int] = (),
    room: Mapping[str, int] | None = None,
    busy_channels: Collection[str] = (),
    email: bool = False,
) -> list[Outbox]:
    """Claim up to `limit` due messages (only `ids`, when given; never those in `skip`), no
    more than `per_channel` for one channel, chosen from the `candidates` oldest due: each
    claim counts an attempt and holds the row for `lease`. In id order.

    Workspaces take turns: of the candidates, the claim takes one of each workspace's in
    turn, no more than an even share each, so a workspace with a backlog fills no batch the
    others' messages would wait behind. With `room`, a workspace takes no more than its room
    (none at 0: its rows are not even read), and a channel in `busy_channels` none.

    Slack's messages only, or (`email`) e-mails only: each courier claims its own."""
    still_due = (
        col(Outbox.sent_at).is_(None),
        col(Outbox.failed_at).is_(None),
        col(Outbox.not_before) <= now,
    )
    mine: list[Any] = [
        col(Outbox.email_to).is_not(None) if email else col(Outbox.email_to).is_(None)
    ]
    if ids is not None:
        mine.append(col(Outbox.id).in_(ids))
    if skip:
        mine.append(col(Outbox.id).not_in(list(skip)))
    if full := [team for team, left in (room or {}).items() if left <= 0]:
        mine.append(col(Outbox.team_id).not_in(full))
    due = (
        select(Outbox.id, Outbox.channel, Outbox.team_id)
        .where(*still_due, *mine)
        .order_by(col(Outbox.id))
        .limit(candidates)
    )

    def won(found: list[Any]) -> list[Any]:
        picked = _in_turns(
            found, limit=limit, per_channel=per_channel, room=room or {}, busy=busy_channels
        )
        return [
            update(Outbox)
            .where(col(Outbox.id).in_(picked), *still_due)
            .values(not_before=now + lease, attempts=Outbox.attempts + 1)
            .returning(Outbox)
        ]

    claimed = await claim_all(session, due, won)
    return sorted(claimed, key=lambda row: row.id or 0)


def _in_turns(
    found: list[Any],
    *,
    limit: int,
    per_channel: int,
    room: Mapping[str, int],
    busy: Collection[str],
) -> list[int]:
    """Up to `limit` ids: each workspace's oldest in turn (round robin), at most an even
    share each and its `room`, no more than `per_channel` for one channel, none for a `busy`
    one."""
    queues: dict[str, deque[Any]] = {}
    for candidate in found:  # in id order
        if candidate.channel not in busy and room.get(candidate.team_id, 1) > 0:
            queues.setdefault(candidate.team_id, deque()).append(candidate)
    share = math.ceil(limit / max(1, len(queues)))
    taken = Counter[str]()
    picked: list[int] = []
    counted = Counter[str]()
    while queues and len(picked) < limit:
        for team in list(queues):
            queue = queues[team]
            while queue and counted[queue[0].channel] >= per_channel:
                queue.popleft()  # its channel has its share of this batch
            if not queue:
                del queues[team]
                continue
            candidate = queue.popleft()
            counted[candidate.channel] += 1
            taken[team] += 1
            picked.append(candidate.id)
            if taken[team] >= min(share, room.get(team, share)):
                del queues[team]
            if len(picked) == limit:
                break
    return picked


async def thread_roots(*, session: AsyncSession, connection_ids: set[int]) -> dict[int, str]:
    """The notice thread's ts of these connections, where one has started."""
    roots = await session.exec(
        select(Connection.id, Connection.notice_ts).where(
            col(Connection.id).in_(connection_ids), col(Connection.notice_ts).is_not(None)
        )
    )
    return {cid: ts for cid, ts in roots.all() if cid and ts}


async def mark_sent(
    *, session: AsyncSession, sent: list[tuple[int, int, str, str]], now: datetime
) -> int | None:
    """Record messages as sent, each (id, attempts when claimed, channel, ts), in one
    statement: a row claimed again since (more attempts) is left alone. The payload (maybe a
    code) is dropped. How many rows changed (None where the driver can't count them)."""
    table: Any = Outbox.__table__
    result = await session.exec(  # type: ignore[call-overload]
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.attempts == bindparam("row_attempts"))
        .values(
            sent_at=now,
            posted_channel=bindparam("row_channel"),
            posted_ts=bindparam("row_ts"),
            last_error=None,
            blocks=[],  # sent: the payload (maybe a code) is not kept
            text="(sent)",
            sealed=None,
        ),
        params=[
            {"row_id": i, "row_attempts": a, "row_channel": c, "row_ts": t} for i, a, c, t in sent
        ],
    )
    return result.rowcount if session.bind.dialect.supports_sane_multi_rowcount else None


async def mark_dm_landed(
    *, session: AsyncSession, invitation_id: int, channel: str, ts: str, now: datetime
) -> None:
    """Where an invitation's DM landed (its channel is the partner's IM from then on)."""
    await session.exec(  # type: ignore[call-overload]
        update(Invitation)
        .where(col(Invitation.id) == invitation_id)
        .values(dm_channel=channel, dm_ts=ts, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def mark_thread_started(
    *, session: AsyncSession, connection_id: int, channel: str, ts: str
) -> None:
    """Where a connection's notice thread starts (the first root wins)."""
    await session.exec(  # type: ignore[call-overload]
        update(Connection)
        .where(col(Connection.id) == connection_id, col(Connection.notice_ts).is_(None))
        .values(notice_channel=channel, notice_ts=ts)
        .execution_options(synchronize_session=False)
    )


async def put_back_message(
    *, session: AsyncSession, outbox_id: int, attempts: int, not_before: datetime
) -> None:
    """A claimed row not tried after all (its workspace waits out a 429): due again at
    `not_before`, its claim's attempt given back. Left alone when claimed again since."""
    await session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(col(Outbox.id) == outbox_id, col(Outbox.attempts) == attempts)
        .values(not_before=not_before, attempts=attempts - 1, last_error="paused")
    )


async def mark_send_failed(
    *,
    session: AsyncSession,
    outbox_id: int,
    attempts: int,
    error: str,
    now: datetime,
    retry_at: datetime | None,
) -> None:
    """A try that failed: due again at `retry_at`, or (None) failed for good. Left alone when
    the row was claimed again since."""
    values: dict[str, Any] = {"last_error": error[:255]}
    if retry_at is not None:
        values["not_before"] = retry_at
    else:
        values["failed_at"] = now
    await session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(col(Outbox.id) == outbox_id, col(Outbox.attempts) == attempts)
        .values(**values)
    )


async def fail_message(
    *, session: AsyncSession, row: Outbox, error: str, now: datetime, retry_at: datetime | None
) -> None:
    """A send of `row` that failed: due again at `retry_at`; or (None) failed for good, with
    its audit row ("<purpose>_failed", to whom and why). Slack's courier and the mail
    courier both record failures so."""
    await mark_send_failed(
        session=session,
        outbox_id=row.id or 0,
        attempts=row.attempts,
        error=error,
        now=now,
        retry_at=retry_at,
    )
    if retry_at is None:
        to = f"e-mail to {row.email_to}" if row.email_to else f"to {row.channel}"
        await add_audit(
            session=session,
            team_id=row.team_id,
            connection_id=row.connection_id,
            invitation_id=row.invitation_id,
            actor="system",
            action=f"{row.purpose}_failed",
            detail=f"{to}: {error}",
            now=now,
        )
