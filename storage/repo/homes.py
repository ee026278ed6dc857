"""Home tabs: who opened one, and which need publishing again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    HomeTab,
)


async def home_opened(
    *, session: AsyncSession, team_id: str, user_id: str, is_admin: bool, now: datetime
) -> None:
    tab = await session.get(HomeTab, (team_id, user_id))
    if tab is None:
        tab = HomeTab(team_id=team_id, user_id=user_id, opened_at=now)
    tab.is_admin, tab.opened_at, tab.dirty = is_admin, now, False
    session.add(tab)


async def mark_homes_dirty(*, session: AsyncSession, team_id: str, users: list[str]) -> None:
    """The Home tabs that show a connection of these users (admins see every connection)."""
    await session.exec(  # type: ignore[call-overload]
        update(HomeTab)
        .where(
            col(HomeTab.team_id) == team_id,
            or_(col(HomeTab.is_admin).is_(True), col(HomeTab.user_id).in_(users)),
        )
        .values(dirty=True)
    )
