"""The outbox's edits: a row whose `edit_of` names the row that posted the message to edit
(chat.update). Where that message is, edits made stale by a newer one, and a message that
was posted afresh because Slack could no longer edit it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Connection, Outbox

Where = tuple[Literal["posted"], str, str] | tuple[Literal["waiting", "gone"], None, None]


async def messages_to_edit(
    *, session: AsyncSession, outbox_ids: Collection[int]
) -> dict[int, Where]:
    """Where each of these rows' messages is: ("posted", channel, ts); ("waiting", …) while
    it is still to be sent; ("gone", …) when it never will be (it failed, or no such row)."""
    rows = await session.exec(
        select(
            Outbox.id, Outbox.sent_at, Outbox.failed_at, Outbox.posted_channel, Outbox.posted_ts
        ).where(col(Outbox.id).in_(list(outbox_ids)))
    )
    found: dict[int, Where] = dict.fromkeys(outbox_ids, ("gone", None, None))
    for row_id, sent_at, failed_at, channel, ts in rows.all():
        if sent_at is not None and channel and ts:
            found[row_id] = ("posted", channel, ts)
        elif sent_at is None and failed_at is None:
            found[row_id] = ("waiting", None, None)
    return found


async def supersede_edits(*, session: AsyncSession, edit_of: int, newer: int, now: datetime) -> int:
    """Edits of the same message still to be sent, written before `newer`: dropped, `newer`
    carries the latest state. How many."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(
            col(Outbox.edit_of) == edit_of,
            col(Outbox.id) < newer,
            col(Outbox.sent_at).is_(None),
            col(Outbox.failed_at).is_(None),
        )
        .values(failed_at=now, last_error="superseded", blocks=[], text="(superseded)", sealed=None)
    )
    return int(result.rowcount or 0)


async def move_message(*, session: AsyncSession, outbox_id: int, channel: str, ts: str) -> None:
    """The message `outbox_id` posted could not be edited (deleted, say) and was posted
    afresh: later edits go to the new one, and a connection whose thread started there
    starts at the new one."""
    old = (await session.exec(select(Outbox.posted_ts).where(col(Outbox.id) == outbox_id))).first()
    await session.exec(  # type: ignore[call-overload]
        update(Outbox)
        .where(col(Outbox.id) == outbox_id)
        .values(posted_channel=channel, posted_ts=ts)
    )
    if old:
        await session.exec(  # type: ignore[call-overload]
            update(Connection)
            .where(col(Connection.notice_ts) == old)
            .values(notice_channel=channel, notice_ts=ts)
            .execution_options(synchronize_session=False)
        )


async def partner_dms(
    *, session: AsyncSession, invitation_id: int, team_id: str, admin_id: str
) -> list[Outbox]:
    """The invitation's DMs to its partner in `team_id` (the invitation and its reminders,
    not edits, nor the reminders that went to the admin instead), in the order written."""
    rows = await session.exec(
        select(Outbox)
        .where(
            col(Outbox.invitation_id) == invitation_id,
            col(Outbox.team_id) == team_id,
            col(Outbox.channel) != admin_id,
            col(Outbox.purpose).in_(("invitation_dm", "reminder")),
            col(Outbox.edit_of).is_(None),
        )
        .order_by(col(Outbox.id))
    )
    return list(rows.all())


async def card_of(*, session: AsyncSession, connection_id: int) -> int | None:
    """The outbox row of the connection's status card: its first notice, the thread's root."""
    return (
        await session.exec(
            select(Outbox.id)
            .where(
                col(Outbox.connection_id) == connection_id,
                col(Outbox.in_thread).is_(True),
                col(Outbox.edit_of).is_(None),
            )
            .order_by(col(Outbox.id))
            .limit(1)
        )
    ).first()


async def partner_dms_of(
    *, session: AsyncSession, invitation_ids: Collection[int]
) -> dict[int, list[Outbox]]:
    """`partner_dms` of many invitations in one query (a reminder batch's): every invitation
    DM and reminder of theirs, not edits, by invitation, in the order written. The caller
    keeps those in the partner's workspace, not to the admin."""
    rows = await session.exec(
        select(Outbox)
        .where(
            col(Outbox.invitation_id).in_(list(invitation_ids)),
            col(Outbox.purpose).in_(("invitation_dm", "reminder")),
            col(Outbox.edit_of).is_(None),
        )
        .order_by(col(Outbox.id))
    )
    found: dict[int, list[Outbox]] = {}
    for row in rows.all():
        found.setdefault(row.invitation_id or 0, []).append(row)
    return found


async def connections_with_a_card(
    *, session: AsyncSession, connection_ids: Collection[int]
) -> set[int]:
    """Of these connections, those whose status card is written (sent or not): their
    thread starts at the card, never at a notice."""
    rows = await session.exec(
        select(Outbox.connection_id)
        .where(col(Outbox.connection_id).in_(list(connection_ids)), col(Outbox.purpose) == "card")
        .distinct()
    )
    return {cid for cid in rows.all() if cid is not None}
