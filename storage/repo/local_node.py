"""The embedded local node's own table (`local_node_connection`): its records of connections
and their invitation codes. The node's rules (who may redeem, what a revoke changes) are in
bot/backend/local.py; these functions only read and write."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import LocalNodeConnection

# a few thousand ids a statement: databases cap a statement's parameters (32,767)
STATUS_CHUNK = 5_000


async def save_local_connection(*, session: AsyncSession, record: LocalNodeConnection) -> None:
    """A new record, or changes to one read in this session, to be written at commit."""
    session.add(record)


async def get_local_connection(
    *, session: AsyncSession, backend_id: str, for_update: bool = False
) -> LocalNodeConnection | None:
    """One record by id; `for_update` locks its row until the transaction ends."""
    if for_update:
        return await session.get(LocalNodeConnection, backend_id, with_for_update=True)
    return await session.get(LocalNodeConnection, backend_id)


async def local_statuses(*, session: AsyncSession, backend_ids: list[str]) -> dict[str, str]:
    """The status of each of these records that exists, by id (any number of ids)."""
    found: dict[str, str] = {}
    for start in range(0, len(backend_ids), STATUS_CHUNK):
        rows = await session.exec(
            select(LocalNodeConnection.id, LocalNodeConnection.status).where(
                col(LocalNodeConnection.id).in_(backend_ids[start : start + STATUS_CHUNK])
            )
        )
        found |= dict(rows.all())
    return found


async def replace_local_values(
    *,
    session: AsyncSession,
    backend_ids: list[str],
    field: str,
    old: str,
    new: str,
    now: datetime,
) -> None:
    """Of these records (any number), those whose `field` (`status` or `code_state`) is
    `old` get `new`, and `updated_at` now: one statement a few thousand ids."""
    table = LocalNodeConnection
    current = {"status": table.status, "code_state": table.code_state}[field]
    for start in range(0, len(backend_ids), STATUS_CHUNK):
        ids = backend_ids[start : start + STATUS_CHUNK]
        await session.exec(  # type: ignore[call-overload]
            update(table)
            .where(col(table.id).in_(ids), current == old)
            .values({field: new, "updated_at": now})
            .execution_options(synchronize_session=False)
        )
