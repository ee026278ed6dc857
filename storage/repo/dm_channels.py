"""The bot's DM channel per user, so reminders need no conversations.open."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import upsert_for
from storage.models import (
    DmChannel,
)


async def get_dm_channels(
    *, session: AsyncSession, team_id: str, user_ids: list[str]
) -> dict[tuple[str, str], str]:
    """The known DM channels of these users, by (team id, user id), in one query."""
    if not user_ids:
        return {}
    statement = select(DmChannel).where(
        DmChannel.team_id == team_id, col(DmChannel.user_id).in_(user_ids)
    )
    return {(row.team_id, row.user_id): row.channel_id for row in await session.exec(statement)}


async def save_dm_channel(
    *, session: AsyncSession, team_id: str, user_id: str, channel_id: str
) -> None:
    """Remember the DM channel (an upsert: two processes may open the same IM at once)."""
    statement = upsert_for(session)(DmChannel).values(
        team_id=team_id, user_id=user_id, channel_id=channel_id
    )
    statement = statement.on_conflict_do_update(
        index_elements=[DmChannel.team_id, DmChannel.user_id], set_={"channel_id": channel_id}
    )
    await session.exec(statement)  # type: ignore[call-overload]
