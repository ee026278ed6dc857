"""The workspaces the app is installed in, and the pending invitations their tokens reach.

The installations themselves are written by Bolt's OAuth flow (storage.slack_stores); these
are the bot's own reads of them, and the moves of an invitation's reach (`reach_team_id`) as
installations come and go.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Connection,
    Invitation,
    InvitationState,
    SlackBots,
    SlackOAuthStates,
)

IS = InvitationState
_bots = SlackBots.c


async def installed_team_ids(*, session: AsyncSession) -> list[str]:
    """The workspaces with a bot token (what `async_find_bot` would find), by team id."""
    statement = (
        sa.select(_bots.team_id)
        .where(_bots.team_id.is_not(None), _bots.bot_token.is_not(None))
        .distinct()
        .order_by(_bots.team_id)
    )
    return [str(team) for team in (await session.exec(statement)).scalars()]  # type: ignore[call-overload]


async def installation_names(*, session: AsyncSession, team_ids: list[str]) -> dict[str, str]:
    """Each workspace's name as its newest installation has it (a workspace renamed since an
    older one); a workspace without a known name is left out."""
    if not team_ids:
        return {}
    statement = (
        sa.select(_bots.team_id, _bots.team_name)
        .where(_bots.team_id.in_(team_ids), _bots.team_name.is_not(None))
        .order_by(_bots.installed_at, _bots.id)
    )
    rows = (await session.exec(statement)).all()  # type: ignore[call-overload]
    return {str(team): str(name) for team, name in rows}  # the newest last, so it wins


async def invitations_reached_in(*, session: AsyncSession, team_id: str) -> list[Invitation]:
    """The pending invitations whose partner this workspace's token reaches, in id order."""
    statement = (
        select(Invitation)
        .where(Invitation.reach_team_id == team_id, Invitation.state == IS.PENDING)
        .order_by(col(Invitation.id))
    )
    return list((await session.exec(statement)).all())


async def _updated(session: AsyncSession, statement: Any) -> list[Invitation]:
    result = await session.exec(  # type: ignore[call-overload]
        statement.returning(Invitation).execution_options(synchronize_session=False)
    )
    return sorted(result.scalars().all(), key=lambda i: i.id or 0)


async def unreach_invitations(
    *, session: AsyncSession, team_id: str, now: datetime
) -> list[Invitation]:
    """The workspace's installation is gone: its pending invitations are reached nowhere now.
    The ones this call changed, in id order."""
    return await _updated(
        session,
        update(Invitation)
        .where(col(Invitation.reach_team_id) == team_id, Invitation.state == IS.PENDING)
        .values(reach_team_id=None, updated_at=now),
    )


async def unreached_pending_invitations(*, session: AsyncSession) -> list[Invitation]:
    """Pending invitations Slack reaches nowhere whose partner's e-mail is known, so that a
    new installation can look for them. In id order."""
    statement = (
        select(Invitation)
        .where(
            Invitation.state == IS.PENDING,
            col(Invitation.reach_team_id).is_(None),
            col(Invitation.partner_email).is_not(None),
            Invitation.partner_email != "",
        )
        .order_by(col(Invitation.id))
    )
    return list((await session.exec(statement)).all())


async def reach_invitation(
    *,
    session: AsyncSession,
    invitation_id: int,
    team_id: str,
    partner_user_id: str,
    now: datetime,
    partner_label: str | None = None,
    partner_tz: str | None = None,
) -> Invitation | None:
    """A pending invitation reached nowhere is now reached through `team_id`'s installation,
    as `partner_user_id` there, a member of it (its connection takes that user and their
    workspace, and `partner_label` if given; the invitation `partner_tz` if given). The
    invitation if this call moved it; None if it is no longer pending or already reached (by
    another replica, say)."""
    zoned = {"partner_tz": partner_tz[:64]} if partner_tz else {}
    won = await _updated(
        session,
        update(Invitation)
        .where(
            col(Invitation.id) == invitation_id,
            Invitation.state == IS.PENDING,
            col(Invitation.reach_team_id).is_(None),
        )
        .values(
            reach_team_id=team_id,
            partner_user_id=partner_user_id,
            partner_team_id=team_id,
            updated_at=now,
            **zoned,
        ),
    )
    if not won:
        return None
    labelled = {"partner_label": partner_label[:255]} if partner_label else {}
    await session.exec(  # type: ignore[call-overload]
        update(Connection)
        .where(
            col(Connection.id) == won[0].connection_id,
            col(Connection.partner_user_id).in_(("", partner_user_id)),
        )
        .values(
            partner_user_id=partner_user_id, partner_team_id=team_id, updated_at=now, **labelled
        )
        .execution_options(synchronize_session=False)
    )
    return won[0]


async def purge_oauth_states(*, session: AsyncSession, now: datetime) -> int:
    """Drop the OAuth states past their deadline (a started install never finished): how many."""
    states = SlackOAuthStates.c
    result = await session.exec(  # type: ignore[call-overload]
        sa.delete(SlackOAuthStates).where(states.expire_at <= _naive(now))
    )
    return int(result.rowcount)


def _naive(when: datetime) -> datetime:
    return when.astimezone(UTC).replace(tzinfo=None)


async def unreached_members_of(*, session: AsyncSession, team_id: str) -> list[Invitation]:
    """Pending invitations Slack reaches nowhere whose partner is a known member of `team_id`
    (it removed the app while they waited): that workspace installing again reaches them."""
    statement = (
        select(Invitation)
        .where(
            Invitation.state == IS.PENDING,
            col(Invitation.reach_team_id).is_(None),
            Invitation.partner_team_id == team_id,
            Invitation.partner_user_id != "",
        )
        .order_by(col(Invitation.id))
    )
    return list((await session.exec(statement)).all())
