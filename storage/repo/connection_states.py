"""A connection's lifecycle state: the conditional moves (only one of two racers wins), and
the reads an invitation's life needs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Connection, ConnectionState

CS = ConnectionState


async def find_connection(*, session: AsyncSession, connection_id: int) -> Connection | None:
    return await session.get(Connection, connection_id)


async def connections_by_id(
    *, session: AsyncSession, connection_ids: Collection[int]
) -> dict[int | None, Connection]:
    """These connections, by id, in one query."""
    statement = select(Connection).where(col(Connection.id).in_(set(connection_ids)))
    return {c.id: c for c in await session.exec(statement)}


async def move_connection(
    *,
    session: AsyncSession,
    connection_id: int | None,
    frm: ConnectionState,
    to: ConnectionState,
    now: datetime,
) -> bool:
    """Move the connection from `frm` to `to`, if it is still there: True when this call
    moved it."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Connection)
        .where(col(Connection.id) == connection_id, Connection.status == frm)
        .values(status=to, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def expire_pending_connections(
    *, session: AsyncSession, connection_ids: Collection[int | None], now: datetime
) -> None:
    """Those of these connections still Pending turn Expired, in one statement."""
    await session.exec(  # type: ignore[call-overload]
        update(Connection)
        .where(col(Connection.id).in_(connection_ids), Connection.status == CS.PENDING)
        .values(status=CS.EXPIRED, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def watched_connections(*, session: AsyncSession, backend: str) -> list[Any]:
    """The open (Pending or Active) connections on this backend: the columns a status poll
    needs (id, backend_id, name, status), not whole rows."""
    statement = select(
        Connection.id, Connection.backend_id, Connection.name, Connection.status
    ).where(col(Connection.status).in_([CS.PENDING, CS.ACTIVE]), Connection.backend == backend)
    return list((await session.exec(statement)).all())
