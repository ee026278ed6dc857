"""The async engine, sessions, and schema migrations (Alembic) run at start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Select, Update, event
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

MIGRATIONS = Path(__file__).parent / "migrations"
WRITES = "exalate_writes"  # an execution option: this transaction will write


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for an already-normalized URL (see bot.settings.normalize_database_url).

    SQLite gets WAL, a busy timeout, foreign keys, and `BEGIN IMMEDIATE` for every write
    transaction (`transaction()`): it takes the write lock up front (waiting up to the busy
    timeout) instead of failing with "database is locked" when its read turns into a write.
    Read-only sessions begin deferred and never wait for a writer (WAL).
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 15}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # the driver's BEGIN: off; ours below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: SyncConnection) -> None:
            writes = conn.get_execution_options().get(WRITES, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session in one write transaction: committed on success, rolled back on error."""
    async with sessions() as session, session.begin():
        await session.connection(execution_options={WRITES: True})
        yield session


async def claim(session: AsyncSession, due: Select[Any], won: Callable[[Any], Update]) -> list[Any]:
    """Rows of `due` that this process wins, each by the conditional update `won(row)`.

    PostgreSQL: the candidates are locked with `FOR UPDATE SKIP LOCKED`, so replicas take
    different rows. SQLite: the transaction holds the write lock (BEGIN IMMEDIATE). On both,
    a row counts as won only when its conditional update changed it.
    """
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = []
    for row in (await session.exec(due)).all():  # type: ignore[call-overload]
        result = await session.exec(won(row))  # type: ignore[call-overload]
        if result.rowcount == 1:
            await session.refresh(row)
            claimed.append(row)
    return claimed


def alembic_config(connection: SyncConnection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: SyncConnection) -> None:
    command.upgrade(alembic_config(connection), "head")


def _pending(connection: SyncConnection) -> list[str]:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    return [] if current == head else [f"database at {current or 'empty'}, code at {head}"]


async def migrate(engine: AsyncEngine) -> None:
    """Create or upgrade the schema to the newest migration."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def pending_migrations(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(_pending)
