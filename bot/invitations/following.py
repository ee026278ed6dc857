"""The partner's DMs follow the invitation (issue 17): only the newest pending one keeps its
buttons, and when the invitation leaves Pending every one says how it ended. Each change is an
edit through the outbox (bot/delivery: retried, paced with the posts, in order per channel,
stale edits collapsed), written in the transaction of the change that calls for it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.rows import enqueue_edit, outbox_row
from bot.invitations import followups as f
from bot.invitations.notices import invitation_dm
from bot.invitations.people import admin_for_partner
from bot.security import SealBroken, Vault
from storage import repo
from storage.models import Connection, Invitation, Outbox


def theirs(connection: Connection, invitation: Invitation, rows: list[Outbox]) -> list[Outbox]:
    """Of an invitation's DM rows, those to its partner (not the reminders that went to the
    admin because Slack reaches the partner nowhere)."""
    return [
        row
        for row in rows
        if row.team_id == invitation.reach_team_id and row.channel != connection.initiator_user_id
    ]


async def _dms(
    session: AsyncSession, connection: Connection, invitation: Invitation
) -> list[Outbox]:
    if invitation.reach_team_id is None or invitation.id is None:
        return []  # Slack reaches the partner nowhere: there are no DMs of theirs
    return await repo.partner_dms(
        session=session,
        invitation_id=invitation.id,
        team_id=invitation.reach_team_id,
        admin_id=connection.initiator_user_id,
    )


async def _edit(
    session: AsyncSession,
    target: Outbox,
    key: str,
    message: dict[str, object],
    now: datetime,
    *,
    seal_with: Vault | None = None,
) -> Outbox | None:
    return await enqueue_edit(
        session,
        outbox_row(
            team_id=target.team_id,
            key=key,
            purpose="dm_edit",
            channel=target.channel,
            message=message,
            now=now,
            connection_id=target.connection_id,
            invitation_id=target.invitation_id,
            seal_with=seal_with,
            edit_of=target.id,
        ),
    )


async def ended(
    session: AsyncSession,
    connection: Connection,
    invitation: Invitation,
    how: str,
    now: datetime,
) -> list[Outbox | None]:
    """The invitation left Pending (`how`: accepted, declined, expired, cancelled, replaced):
    each of the partner's DMs loses its buttons and says so, with when. The edits' rows."""
    initiator = admin_for_partner(connection)
    edits = []
    for dm in await _dms(session, connection, invitation):
        message = f.ended_dm(
            how=how,
            when=now,
            initiator=initiator,
            connection_name=connection.name,
            first=dm.purpose == "invitation_dm",
        )
        edits.append(await _edit(session, dm, f"ended:{how}:{dm.id}", message, now))
    return edits


async def reminded(
    session: AsyncSession,
    connection: Connection,
    invitation: Invitation,
    now: datetime,
    *,
    vault: Vault,
    accept_here: bool,
    dms: list[Outbox],
) -> None:
    """A reminder is about to go out: the partner's newest DM so far (of `dms`, theirs as
    `theirs` keeps them) loses its buttons and points to it (the first DM keeping its code,
    sealed again in the edit)."""
    if not dms:
        return
    newest = dms[-1]
    key = f"superseded:{newest.id}"
    if newest.purpose != "invitation_dm":
        message = f.superseded_reminder(
            number=len(dms) - 1,
            initiator=admin_for_partner(connection),
            connection_name=connection.name,
            when=now,
        )
        await _edit(session, newest, key, message, now)
        return
    if not invitation.code_sealed:
        return
    try:
        code = vault.open(invitation.code_sealed)
    except SealBroken:
        return  # sealed with another key: the DM keeps its buttons rather than lose its code
    first = invitation_dm(connection, invitation, code, accept_here=accept_here)
    message = f.superseded_invitation(first, when=now)
    await _edit(session, newest, key, message, now, seal_with=vault)
