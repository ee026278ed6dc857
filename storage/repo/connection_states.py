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
WATCHED = (CS.PENDING, CS.ACTIVE, CS.DEACTIVATED)


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
    """The connections the node may still change (Pending, Active, Deactivated) on this
    backend: the columns a status poll needs (id, backend_id, name, status, node_status),
    not whole rows."""
    statement = select(
        Connection.id,
        Connection.backend_id,
        Connection.name,
        Connection.status,
        Connection.node_status,
    ).where(col(Connection.status).in_(WATCHED), Connection.backend == backend)
    return list((await session.exec(statement)).all())


async def remember_backend_id(
    *, session: AsyncSession, connection_id: int | None, backend_id: str, now: datetime
) -> None:
    """The node's id of a connection found by its name: the poll follows it by id from now."""
    await session.exec(  # type: ignore[call-overload]
        update(Connection)
        .where(col(Connection.id) == connection_id)
        .values(backend_id=backend_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )


async def set_node_status(
    *, session: AsyncSession, connection_id: int | None, node_status: str | None, now: datetime
) -> bool:
    """Record what the node says beside the bot's state (None: they agree again). True when
    this call changed it (two pollers: one announces it)."""
    result = await session.exec(  # type: ignore[call-overload]
        update(Connection)
        .where(
            col(Connection.id) == connection_id,
            col(Connection.node_status).is_distinct_from(node_status),
        )
        .values(node_status=node_status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)
