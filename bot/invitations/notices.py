"""The rows an invitation's change writes with it: its messages (outbox rows: a DM, or a
notice in the connection's thread) and its audit rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import enqueue, outbox_row
from bot.invitations import messages as m
from bot.security import Vault, mask
from storage.models import Connection, Invitation, Outbox


def outbox_ids(*rows: Outbox | None) -> list[int]:
    """The ids of the rows enqueued (None: a message that was there already, or no channel)."""
    return [row.id for row in rows if row is not None and row.id is not None]


def notice_row(
    connection: Connection, key: str, message: dict[str, Any], now: datetime
) -> dict[str, Any] | None:
    """The outbox row of a notice in the connection's thread (None without a channel)."""
    if not connection.notice_channel:
        return None
    return outbox_row(
        team_id=connection.team_id,
        key=f"notice:{connection.id}:{key}",
        purpose="notice",
        channel=connection.notice_channel,
        message=message,
        now=now,
        connection_id=connection.id,
        in_thread=True,
    )


def direct_row(
    connection: Connection,
    user_id: str,
    key: str,
    message: dict[str, Any],
    now: datetime,
    *,
    invitation_id: int | None = None,
    purpose: str = "dm",
    seal_with: Vault | None = None,
) -> dict[str, Any]:
    """The outbox row of a DM to `user_id` about `connection`."""
    return outbox_row(
        team_id=connection.team_id,
        key=f"{purpose}:{connection.id}:{key}",
        purpose=purpose,
        channel=user_id,
        message=message,
        now=now,
        connection_id=connection.id,
        invitation_id=invitation_id,
        seal_with=seal_with,
    )


def audit_row(
    connection: Connection,
    action: str,
    now: datetime,
    *,
    invitation: Invitation | None = None,
    actor: str = "system",
    frm: str | None = None,
    to: str | None = None,
    detail: str = "",
) -> dict[str, Any]:
    """An audit row's values (for repo.add_audits); the detail masked."""
    return {
        "team_id": connection.team_id,
        "connection_id": connection.id,
        "invitation_id": invitation.id if invitation else None,
        "actor": actor,
        "action": action,
        "from_state": frm,
        "to_state": to,
        "detail": mask(detail),
        "at": now,
    }


async def notice(
    session: AsyncSession, connection: Connection, key: str, message: dict[str, Any], now: datetime
) -> Outbox | None:
    """A notice in the connection's thread in its notice channel (the first starts the thread)."""
    row = notice_row(connection, key, message, now)
    return None if row is None else await enqueue(session, row)


async def direct(
    session: AsyncSession,
    connection: Connection,
    user_id: str,
    key: str,
    message: dict[str, Any],
    now: datetime,
    **options: Any,
) -> Outbox | None:
    """A DM to `user_id` about `connection` (`options`: those of `direct_row`)."""
    return await enqueue(session, direct_row(connection, user_id, key, message, now, **options))


async def enqueue_invitation(
    session: AsyncSession,
    *,
    connection: Connection,
    invitation: Invitation,
    code: str,
    now: datetime,
    vault: Vault,
    resent_by: str | None = None,
    accept_here: bool = True,
) -> list[int]:
    """The partner's DM with the code (sealed until sent), and the channel notice (never the
    code)."""
    assert invitation.id is not None
    sender = resent_by or connection.initiator_user_id
    dm = m.build_invitation_dm(
        initiator_user_id=sender,
        connection_name=connection.name,
        local_short_name=connection.local_short_name,
        remote_short_name=connection.remote_short_name,
        mode=connection.mode,
        code=code,
        invitation_id=invitation.id,
        note=invitation.note,
        accept_here=accept_here,
    )
    partner = invitation.partner_user_id
    return outbox_ids(
        await direct(
            session,
            connection,
            partner,
            str(invitation.id),
            dm,
            now,
            invitation_id=invitation.id,
            purpose="invitation_dm",
            seal_with=vault,
        ),
        await notice(
            session,
            connection,
            f"sent:{invitation.id}",
            m.notice_sent(
                partner=partner, name=connection.name, by=sender, resent=resent_by is not None
            ),
            now,
        ),
    )
