"""The rows an invitation's change writes with it: its messages (outbox rows: a DM, or a
notice in the connection's thread) and its audit rows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import enqueue, enqueue_edit, outbox_row
from bot.invitations import by_email
from bot.invitations import messages as m
from bot.invitations.by_email import goes_by_email
from bot.invitations.followups import card_message
from bot.invitations.people import admin_for_partner, mention, partner_for_admin
from bot.security import Vault, mask
from bot.settings import Settings
from storage import repo
from storage.models import Connection, Invitation, Outbox


def outbox_ids(*rows: Outbox | list[Outbox | None] | None) -> list[int]:
    """The ids of the rows enqueued (None: a message that was there already, or no channel),
    lists of them flattened."""
    flat = [r for row in rows for r in (row if isinstance(row, list) else [row])]
    return [row.id for row in flat if row is not None and row.id is not None]


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
    """A notice in the connection's thread in its notice channel (the first starts the thread).
    A change is told through `Thread.tell`, which keeps the card too."""
    row = notice_row(connection, key, message, now)
    return None if row is None else await enqueue(session, row)


# the changes a thread keeps with EXALATE_THREAD_REPLIES=milestones (a notice key's first part)
# ("next_steps" comes with "active": what to do now that it is accepted)
MILESTONES = frozenset(
    {"active", "next_steps", "declined", "expired", "cancelled", "escalated", "rejected"}
)


@dataclass(frozen=True)
class Thread:
    """How a connection's changes are told in its channel: the status card (its first notice,
    the thread's root) posted, then edited on each change; the thread's replies, all of them
    or (EXALATE_THREAD_REPLIES=milestones) only the milestones."""

    replies: str
    reminder_max: int

    @classmethod
    def of(cls, settings: Settings) -> Thread:
        return cls(replies=settings.exalate_thread_replies, reminder_max=settings.reminder_max)

    def keeps(self, key: str) -> bool:
        return self.replies == "all" or key.split(":", 1)[0] in MILESTONES

    async def tell(
        self,
        session: AsyncSession,
        connection: Connection,
        key: str,
        message: dict[str, Any],
        now: datetime,
    ) -> list[Outbox | None]:
        """The card brought up to date, then the change in its thread (if kept)."""
        card = await self.card(session, connection, now)
        kept = await notice(session, connection, key, message, now) if self.keeps(key) else None
        return [card, kept]

    async def card(
        self, session: AsyncSession, connection: Connection, now: datetime
    ) -> Outbox | None:
        """Post the connection's card (with its first change), or edit it to what stands."""
        if not connection.notice_channel or connection.id is None:
            return None
        invitation = await repo.newest_invitation(session=session, connection_id=connection.id)
        shown = card_message(connection, invitation, now, reminder_max=self.reminder_max)
        card = await repo.card_of(session=session, connection_id=connection.id)
        where = {"team_id": connection.team_id, "channel": connection.notice_channel}
        if card is None:
            key, purpose = f"card:{connection.id}", "card"
            return await enqueue(
                session,
                outbox_row(
                    **where,
                    key=key,
                    purpose=purpose,
                    message=shown,
                    now=now,
                    connection_id=connection.id,
                    in_thread=True,
                ),
            )
        return await enqueue_edit(
            session,
            outbox_row(
                **where,
                key=f"card:{card}:{secrets.token_hex(8)}",
                purpose="card_edit",
                message=shown,
                now=now,
                connection_id=connection.id,
                edit_of=card,
            ),
        )


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


def invitation_dm(
    connection: Connection,
    invitation: Invitation,
    code: str,
    *,
    sender: str | None = None,
    accept_here: bool = True,
) -> dict[str, Any]:
    """The partner's invitation DM, with its code."""
    return m.build_invitation_dm(
        initiator=admin_for_partner(connection, sender),
        connection_name=connection.name,
        local_short_name=connection.local_short_name,
        remote_short_name=connection.remote_short_name,
        mode=connection.mode,
        code=code,
        invitation_id=invitation.id or 0,
        note=invitation.note,
        accept_here=accept_here,
        private=connection.destination == "private",
        expires_at=invitation.expires_at,
    )


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
    thread: Thread,
    mail_on: bool = False,
    approved_by: str | None = None,
) -> list[int]:
    """The partner's DM with the code (sealed until sent), or their e-mail (`mail_on`: SMTP_URL
    is set; bot/invitations/by_email.py), and the channel notice (never the code)."""
    assert invitation.id is not None
    sender = resent_by or connection.initiator_user_id
    dm = invitation_dm(connection, invitation, code, sender=sender, accept_here=accept_here)
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
    how = ""
    if row is None and goes_by_email(invitation, mail_on=mail_on):
        key = dm_key or str(invitation.id)
        fresh, embedded = resent_by is not None, accept_here
        row = by_email.invitation_row(
            connection, invitation, code, now, vault=vault, key=key, fresh=fresh, embedded=embedded
        )
        how = " by e-mail"
    if row is None:  # Slack reaches the partner nowhere: the admin passes the code on
        by = mention(sender) + (f", approved by {mention(approved_by)}" if approved_by else "")
        return await _by_hand(
            session, connection, invitation, code, now, vault, sender, by, install_link, thread
        )
    sent = m.notice_sent(
        partner=partner_for_admin(connection),
        name=connection.name,
        by=mention(sender),
        resent=resent_by is not None,
        how=how,
        approved_by=approved_by,
    )
    return outbox_ids(
        await enqueue(session, row),
        await thread.tell(session, connection, notice_key or f"sent:{invitation.id}", sent, now),
    )


async def _by_hand(
    session: AsyncSession,
    connection: Connection,
    invitation: Invitation,
    code: str,
    now: datetime,
    vault: Vault,
    sender: str,
    by: str,
    install_link: str | None,
    thread: Thread,
) -> list[int]:
    """The code to the admin (sealed until sent), and the notice that they pass it on (`by`
    whom, said as the notice says it)."""
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
        await thread.tell(
            session,
            connection,
            f"sent:{invitation.id}",
            m.notice_by_hand(partner=partner, name=connection.name, by=by),
            now,
        ),
    )
