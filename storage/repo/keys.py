"""Idempotency keys: one effect per intent, across replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import upsert_for
from storage.models import (
    IdempotencyKey,
)


async def claim_key(*, session: AsyncSession, key: str, now: datetime) -> bool:
    """True for the first caller with this key (in any process); False for every other."""
    statement = (
        upsert_for(session)(IdempotencyKey)
        .values(key=key[:160], created_at=now)
        .on_conflict_do_nothing()
    )
    result = await session.exec(statement)  # type: ignore[call-overload]
    return bool(result.rowcount == 1)


async def key_state(*, session: AsyncSession, key: str) -> tuple[bool, dict[str, Any] | None]:
    """(whether the key is held, the result its holder left)."""
    row = await session.get(IdempotencyKey, key[:160])
    return (row is not None, row.result if row else None)


async def set_key_result(*, session: AsyncSession, key: str, result: dict[str, Any]) -> None:
    row = await session.get(IdempotencyKey, key[:160])
    if row is not None:
        row.result = dict(result)
        session.add(row)


async def release_key(*, session: AsyncSession, key: str) -> None:
    await session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.key) == key[:160]))


async def purge_keys(*, session: AsyncSession, older_than: datetime) -> int:
    statement = delete(IdempotencyKey).where(col(IdempotencyKey.created_at) < older_than)
    return (await session.exec(statement)).rowcount or 0
