"""The e-mail route: a partner Slack reaches nowhere (or whom the admin chose to e-mail) gets
the invitation, its reminders, a resend's fresh code and a cancel's note by e-mail
(bot/mail/), as outbox rows written with the change, like a Slack DM.

An invitation goes by e-mail when it was created so (`Invitation.by_email`), it has an
address, Slack doesn't reach the partner (yet: once their workspace adds the app, they get
Slack DMs instead, bot/invitations/reach.py) and SMTP_URL is set (`mail_on`). Without
SMTP_URL the admin passes things on, as before."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.invitations.policy import waited
from bot.mail import messages as mails
from bot.mail.courier import mail_row
from bot.security import Vault
from storage.models import Connection, Invitation

NOBODY = "An Exalate admin"


def goes_by_email(invitation: Invitation | None, *, mail_on: bool) -> bool:
    return bool(
        mail_on
        and invitation is not None
        and invitation.by_email
        and invitation.partner_email
        and invitation.reach_team_id is None
    )


def inviter(connection: Connection) -> str:
    """The admin as the e-mail names them: their name and company ("Ada (Acme)"), never a
    Slack mention, which shows nothing outside Slack."""
    return connection.initiator_label or NOBODY


def _row(
    connection: Connection,
    invitation: Invitation,
    key: str,
    purpose: str,
    content: mails.MailContent,
    now: datetime,
    vault: Vault,
) -> dict[str, Any]:
    assert invitation.partner_email
    return mail_row(
        team_id=connection.team_id,
        key=f"mail:{connection.id}:{key}",
        purpose=purpose,
        to=invitation.partner_email,
        content=content,
        vault=vault,
        now=now,
        connection_id=connection.id,
        invitation_id=invitation.id,
        reply_to=invitation.reply_to,
        reply_to_name=inviter(connection) if invitation.reply_to else "",
    )


def invitation_row(
    connection: Connection,
    invitation: Invitation,
    code: str,
    now: datetime,
    *,
    vault: Vault,
    key: str,
    fresh: bool,
    embedded: bool,
) -> dict[str, Any]:
    """The invitation e-mail with its code (a resend's: `fresh`), sealed until sent."""
    content = mails.invitation_mail(
        inviter=inviter(connection),
        connection_name=connection.name,
        local_short_name=connection.local_short_name,
        remote_short_name=connection.remote_short_name,
        code=code,
        expires_at=invitation.expires_at,
        zone=invitation.partner_tz,
        note=invitation.note,
        embedded=embedded,
        fresh=fresh,
    )
    purpose = "invitation_email"
    return _row(connection, invitation, key, purpose, content, now, vault)


def reminder_row(
    connection: Connection,
    invitation: Invitation,
    now: datetime,
    *,
    vault: Vault,
    number: int,
    of: int,
) -> dict[str, Any]:
    """Reminder `number` of `of` by e-mail (no code: it is in the first e-mail)."""
    content = mails.reminder_mail(
        inviter=inviter(connection),
        connection_name=connection.name,
        waited=waited(invitation.created_at, now),
        number=number,
        of=of,
        expires_at=invitation.expires_at,
        zone=invitation.partner_tz,
    )
    key = f"{invitation.id}:reminder:{number}"
    return _row(connection, invitation, key, "reminder_email", content, now, vault)


def withdrawn_row(
    connection: Connection, invitation: Invitation, now: datetime, *, vault: Vault
) -> dict[str, Any]:
    """Cancel's short note: the invitation is withdrawn."""
    content = mails.withdrawn_mail(inviter=inviter(connection), connection_name=connection.name)
    key = f"{invitation.id}:withdrawn"
    return _row(connection, invitation, key, "withdrawn_email", content, now, vault)


def expired_row(
    connection: Connection, invitation: Invitation, now: datetime, *, vault: Vault, on_node: bool
) -> dict[str, Any]:
    """The invitation ran out: no more reminders (and, from the embedded node, no code)."""
    content = mails.expired_mail(
        inviter=inviter(connection),
        connection_name=connection.name,
        age=waited(invitation.created_at, now),
        on_node=on_node,
    )
    key = f"{invitation.id}:expired"
    return _row(connection, invitation, key, "expired_email", content, now, vault)
