"""The rows an invitation's change writes with it: its messages (outbox rows: a DM, or a
notice in the connection's thread) and its audit rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import enqueue, outbox_row
from bot.invitations import messages as m
from bot.invitations.people import admin_for_partner, mention, partner_for_admin
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
    team_id: str | None = None,
) -> dict[str, Any]:
    """The outbox row of a DM to `user_id` about `connection`, sent in `team_id` (default:
    the connection's, the admin's workspace)."""
    return outbox_row(
        team_id=team_id or connection.team_id,
        key=f"{purpose}:{connection.id}:{key}",
        purpose=purpose,
        channel=user_id,
        message=message,
        now=now,
        connection_id=connection.id,
        invitation_id=invitation_id,
        seal_with=seal_with,
    )


def partner_row(
    connection: Connection,
    invitation: Invitation,
    key: str,
    message: dict[str, Any],
    now: datetime,
    **options: Any,
) -> dict[str, Any] | None:
    """The outbox row of a DM to the invitation's partner, sent in the workspace that reaches
    them (their own, or the admin's for a Slack Connect member); None where Slack reaches
    them nowhere (the admin passes things on)."""
    team_id = invitation.reach_team_id
    if team_id is None or not invitation.partner_user_id:
        return None
    user = invitation.dm_channel or invitation.partner_user_id
    return direct_row(connection, user, key, message, now, team_id=team_id, **options)


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
    dm_key: str | None = None,
    notice_key: str | None = None,
    install_link: str | None = None,
) -> list[int]:
    """The partner's DM with the code (sealed until sent), and the channel notice (never the
    code)."""
    assert invitation.id is not None
    sender = resent_by or connection.initiator_user_id
    dm = m.build_invitation_dm(
        initiator=admin_for_partner(connection, sender),
        connection_name=connection.name,
        local_short_name=connection.local_short_name,
        remote_short_name=connection.remote_short_name,
        mode=connection.mode,
        code=code,
        invitation_id=invitation.id,
        note=invitation.note,
        accept_here=accept_here,
        private=connection.destination == "private",
        expires_at=invitation.expires_at,
    )
    row = partner_row(
        connection,
        invitation,
        dm_key or str(invitation.id),
        dm,
        now,
        invitation_id=invitation.id,
        purpose="invitation_dm",
        seal_with=vault,
    )
    if row is None:  # Slack reaches the partner nowhere: the admin passes the code on
        return await _by_hand(
            session, connection, invitation, code, now, vault, sender, install_link
        )
    sent = m.notice_sent(
        partner=partner_for_admin(connection),
        name=connection.name,
        by=mention(sender),
        resent=resent_by is not None,
    )
    return outbox_ids(
        await enqueue(session, row),
        await notice(session, connection, notice_key or f"sent:{invitation.id}", sent, now),
    )


async def _by_hand(
    session: AsyncSession,
    connection: Connection,
    invitation: Invitation,
    code: str,
    now: datetime,
    vault: Vault,
    sender: str,
    install_link: str | None,
) -> list[int]:
    """The code to the admin (sealed until sent), and the notice that they pass it on."""
    partner = partner_for_admin(connection)
    dm = m.dm_code_by_hand(
        partner=partner, name=connection.name, code=code, install_link=install_link
    )
    return outbox_ids(
        await direct(
            session,
            connection,
            sender,
            f"{invitation.id}:by_hand",
            dm,
            now,
            invitation_id=invitation.id,
            purpose="code_by_hand",
            seal_with=vault,
        ),
        await notice(
            session,
            connection,
            f"sent:{invitation.id}",
            m.notice_by_hand(partner=partner, name=connection.name, by=mention(sender)),
            now,
        ),
    )
