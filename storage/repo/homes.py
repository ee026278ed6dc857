"""Home tabs: who opened one, and which need publishing again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import claim
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


async def claim_dirty_homes(*, session: AsyncSession, limit: int) -> list[HomeTab]:
    """Up to `limit` Home tabs that need publishing again, each won by this process (its flag
    cleared by a conditional update), so a change is published once across replicas."""
    due = select(HomeTab).where(col(HomeTab.dirty).is_(True)).limit(limit)
    return await claim(
        session,
        due,
        lambda tab: (
            update(HomeTab)
            .where(
                col(HomeTab.team_id) == tab.team_id,
                col(HomeTab.user_id) == tab.user_id,
                col(HomeTab.dirty).is_(True),
            )
            .values(dirty=False)
        ),
    )


async def mark_home_dirty(*, session: AsyncSession, team_id: str, user_id: str) -> None:
    """One person's Home tab needs publishing again (its refresh failed)."""
    await session.exec(  # type: ignore[call-overload]
        update(HomeTab)
        .where(col(HomeTab.team_id) == team_id)
        .where(col(HomeTab.user_id) == user_id)
        .values(dirty=True)
    )
