"""The async engine, sessions, and schema migrations (Alembic) run at start."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager, nullcontext
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Select, Update, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection as SyncConnection
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
WRITES = "exalate_writes"  # an execution option: this transaction will write
ONE_STATEMENT = "exalate_one_statement"  # an execution option: see one_statement()
# Connections kept open, and no more: enough for the requests and the sweep of one busy
# process. Beyond them a request waits its turn for one (in order, without polling), which
# under a burst costs less than opening and closing extra connections (with asyncpg a TLS probe
# and a login; with aiosqlite a thread) for every wave of requests. The most recently used
# connection is taken first (its caches are warm; the others stay idle). PostgreSQL gets 20:
# a burst of name checks (the only read on the acknowledgement's path there) then goes in
# two turns rather than five; SQLite reads those in the event loop's thread (first_row).
POOL = {"pool_size": 10, "max_overflow": 0, "pool_use_lifo": True}
POSTGRES_POOL = POOL | {"pool_size": 20}
# A connection idle this long is pinged before use (a server restart or a dropped TCP
# connection shows there, not in a request); one used more recently is not, as in HikariCP's
# `aliveBypassWindowMs`. SQLAlchemy's pre-ping would ask on every checkout, and with asyncpg
# its ping is three trips to the server (BEGIN, a statement, ROLLBACK).
PING_AFTER_IDLE = 0.5
_IDLE_SINCE = "exalate_idle_since"  # in a pool entry's info: monotonic time of its checkin
_SUSPECT_SINCE: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()


def upsert_for(session: AsyncSession) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (an upsert) on PostgreSQL and SQLite."""
    return pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An async engine for an already-normalized URL (see storage.urls.normalize_database_url).

    SQLite gets WAL, a busy timeout, foreign keys, and `BEGIN IMMEDIATE` for every write
    transaction (`transaction()`): it takes the write lock up front (waiting up to the busy
    timeout) instead of failing with "database is locked" when its read turns into a write.
    Read-only sessions begin deferred and never wait for a writer (WAL).
    """
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 15}, **(POOL | kwargs))

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # the driver's BEGIN: off; ours below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA busy_timeout=15000")
            _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL's recommended level: a commit survives the process crashing (not the
            # machine losing power), without an fsync per commit
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine.sync_engine, "begin")
        def _sqlite_begin(conn: SyncConnection) -> None:
            options = conn.get_execution_options()
            if options.get(ONE_STATEMENT):
                return  # the statement is its own transaction: SQLite's autocommit
            conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITES) else "BEGIN")

        return engine
    engine = create_async_engine(url, **(POSTGRES_POOL | kwargs))
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Ping a connection before use if it sat idle for PING_AFTER_IDLE or more, or was back in
    the pool before a connection was found dead (see `suspect_the_pool`). A failed ping
    replaces it and every older connection in the pool (SQLAlchemy's InvalidatePoolError)."""

    @event.listens_for(engine.sync_engine, "checkin")
    def _checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop(_IDLE_SINCE, None)
        if idle_since is None:
            return  # a fresh connection
        suspect_since = _SUSPECT_SINCE.get(engine.pool, 0.0)
        if time.monotonic() - idle_since < PING_AFTER_IDLE and idle_since > suspect_since:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises: this connection is unusable
            log.info("a pooled database connection is gone (%s); replacing the pool's", exc)
            raise InvalidatePoolError() from None


def suspect_the_pool(engine: AsyncEngine) -> None:
    """A connection was found dead outside SQLAlchemy's own handling (a raw driver call):
    ping every connection that was back in the pool before now when it is next taken."""
    _SUSPECT_SINCE[engine.pool] = time.monotonic()


async def warm_up(engine: AsyncEngine) -> None:
    """Open the pool's connections now, rather than in the first burst of requests."""
    async with AsyncExitStack() as held:
        for _ in range(engine.pool.size()):  # type: ignore[attr-defined]
            await held.enter_async_context(engine.connect())


def _use_wal(cursor: Any) -> None:
    """Switch a new database to WAL (it stays so). Several processes opening a fresh file at
    once race for that switch, and SQLite answers the losers "database is locked" at once,
    without waiting: they look again and retry, briefly."""
    for _ in range(100):
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except Exception as exc:  # the driver's OperationalError
            if "locked" not in str(exc):
                raise
            time.sleep(0.02)  # only while a fresh database is being created
    cursor.execute("PRAGMA journal_mode=WAL")  # the last word: its error, if it fails


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def _writer_lock(sessions: async_sessionmaker[AsyncSession]) -> asyncio.Lock | None:
    """SQLite has one writer at a time: this process's writers queue on a lock of their own
    (FIFO, no polling) before they ask SQLite's, which then only waits for other processes."""
    engine = sessions.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite":
        return None
    lock = _SQLITE_WRITERS.get(engine.sync_engine)
    if lock is None:
        lock = _SQLITE_WRITERS[engine.sync_engine] = asyncio.Lock()
    return lock


_WRITING: ContextVar[tuple[int, ...]] = ContextVar("exalate_sqlite_writing", default=())


@asynccontextmanager
async def _write_turn(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[None]:
    """This process's turn to write (on SQLite; elsewhere at once). A write inside another on
    the same database, which would wait for itself for ever, fails at once instead."""
    lock = _writer_lock(sessions)
    if lock is None:
        yield
        return
    if id(lock) in _WRITING.get():
        raise RuntimeError(
            "a write inside another write on the same SQLite database would wait for itself; "
            "finish the first transaction before starting the next"
        )
    async with lock:
        token = _WRITING.set((*_WRITING.get(), id(lock)))
        try:
            yield
        finally:
            _WRITING.reset(token)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session in one write transaction: committed on success, rolled back on error."""
    async with _write_turn(sessions), sessions() as session, session.begin():
        await session.connection(execution_options={WRITES: True})
        yield session


@asynccontextmanager
async def one_statement(
    sessions: async_sessionmaker[AsyncSession], *, writes: bool = True
) -> AsyncIterator[AsyncSession]:
    """A session for one statement that needs no transaction around it (a single upsert, a
    single read), committed at the end: for a wizard's answers too long for its view.

    On SQLite the statement runs as its own transaction (no BEGIN and COMMIT round trips
    through the driver's thread), so SQLite's write lock is held only while it runs; a writer
    still queues behind this process's other writers (`writes`), rather than polling SQLite.
    Elsewhere: a short transaction as usual.
    """
    async with sessions() as session:
        await session.connection(execution_options={ONE_STATEMENT: True})
        async with _write_turn(sessions) if writes else nullcontext():
            yield session
            await session.commit()


async def first_row(engine: AsyncEngine, statement: Select[Any], **values: Any) -> Any:
    """The first row of a simple read on the acknowledgement's path, as the driver returns it
    (no type conversion), in one trip to the database rather than the several of SQLAlchemy's
    cursor (on aiosqlite each a hop to the driver's thread and back, which under load waits its
    turn in the event loop every time).

    On SQLite the read runs right here, in the event loop's thread, on a read-only connection
    of its own: an indexed lookup takes microseconds, less than one such hop, and in WAL mode a
    reader never waits for a writer. Should SQLite answer busy all the same (a checkpoint, a
    recovery), the read goes through the pool like any other. PostgreSQL: asyncpg's fetchrow,
    asked again on another connection if this one turns out dead (see `_ping_when_idle`).
    """
    sql, names, defaults = _compiled(statement, engine.dialect)
    arguments = [values[name] if name in values else defaults[name] for name in names]
    if engine.dialect.name == "sqlite":
        reader = _sqlite_reader(engine)
        if reader is not None:
            try:
                return reader.execute(sql, arguments).fetchone()
            except sqlite3.Error as exc:
                log.info("a quick read went the slow way: %s", exc)
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        if engine.dialect.name == "sqlite":  # aiosqlite
            rows = await driver.execute_fetchall(sql, arguments)
            return rows[0] if rows else None
        try:
            return await driver.fetchrow(sql, *arguments)  # asyncpg
        except Exception as exc:
            if not driver.is_closed():
                raise
            # the server went away since this connection's last use (too recent for a ping):
            # replace it, have the others pinged, and ask once more
            log.info("a database connection was gone; asking on another")
            await connection.invalidate(exc)
            suspect_the_pool(engine)
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        return await driver.fetchrow(sql, *arguments)


_SQLITE_READERS: weakref.WeakKeyDictionary[Engine, sqlite3.Connection] = weakref.WeakKeyDictionary()


def _sqlite_reader(engine: AsyncEngine) -> sqlite3.Connection | None:
    """The engine's read-only connection for `first_row` (None for an in-memory database, or
    one SQLite won't open read-only), used from the event loop's thread only."""
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    reader = _SQLITE_READERS.get(engine.sync_engine)
    if reader is None:
        uri = f"{Path(database).resolve().as_uri()}?mode=ro"
        try:  # timeout 0: busy is an answer at once, never a wait in the event loop
            reader = sqlite3.connect(uri, uri=True, timeout=0, isolation_level=None)
        except sqlite3.Error as exc:
            log.info("no read-only SQLite connection: %s", exc)
            return None
        _SQLITE_READERS[engine.sync_engine] = reader
    return reader


_COMPILED: dict[tuple[int, str], tuple[str, tuple[str, ...], dict[str, Any]]] = {}


def _compiled(statement: Select[Any], dialect: Any) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """The statement's SQL for the dialect, its parameters' names in order, and the values
    the statement itself gives (a LIMIT); compiled once."""
    key = (id(statement), dialect.name)
    if key not in _COMPILED:
        compiled = statement.compile(dialect=dialect)
        _COMPILED[key] = (str(compiled), tuple(compiled.positiontup or ()), dict(compiled.params))
    return _COMPILED[key]


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


async def claim_all(
    session: AsyncSession,
    due: Select[Any],
    won: Callable[[list[Any]], Iterable[UpdateBase]],
    *,
    of: Any = None,
) -> list[Any]:
    """The rows this process wins, in bulk: `due` selects the candidates (ids, and what
    `won` needs), `won(candidates)` gives the conditional UPDATEs ... RETURNING the rows they
    changed. Each UPDATE must re-check in its WHERE that a row is still due, so a row another
    process took meanwhile is not won twice.

    PostgreSQL: the candidates are locked with `FOR UPDATE SKIP LOCKED` (of `of`, when the
    select joins), so replicas take different rows, and an UPDATE re-checks its WHERE against
    the newest version of a row. SQLite: the transaction holds the write lock (BEGIN
    IMMEDIATE). A few statements a batch, not a few a row.
    """
    if session.bind.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True, of=of)
    candidates = list((await session.exec(due)).all())  # type: ignore[call-overload]
    if not candidates:
        return []
    claimed: list[Any] = []
    for statement in won(candidates):
        result = await session.exec(  # type: ignore[call-overload]
            statement.execution_options(synchronize_session=False)
        )
        claimed += result.scalars().all()
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


MIGRATION_LOCK = 0x45584142  # "EXAB": the PostgreSQL advisory lock held while migrating


async def migrate(engine: AsyncEngine) -> None:
    """Create or upgrade the schema to the newest migration.

    Replicas that start together take turns: on PostgreSQL the first holds an advisory lock
    for its transaction, the others wait for it and then find the schema at head; on SQLite
    the write lock is taken up front (BEGIN IMMEDIATE).
    """
    async with engine.connect() as conn:
        conn = await conn.execution_options(**{WRITES: True})
        async with conn.begin():
            if conn.dialect.name == "postgresql":
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            await conn.run_sync(_upgrade)


async def pending_migrations(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(_pending)
