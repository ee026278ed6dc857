"""Storage on SQLite and PostgreSQL: migrations, drafts, connections, audit, constraints."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.db
from bot.clock import FakeClock
from storage import repo
from storage.db import (
    create_engine,
    migrate,
    one_statement,
    pending_migrations,
    session_factory,
    transaction,
    warm_up,
)
from storage.models import ConnectionState, Invitation
from tests.conftest import PG_URL
from tests.seeds import seed_connection


async def test_migrations_are_at_head(engine: AsyncEngine) -> None:
    assert await pending_migrations(engine) == []


async def test_draft_round_trip_and_update(engine: AsyncEngine, clock: FakeClock) -> None:
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        await repo.save_draft(
            session=session,
            view_key="V1",
            team_id="T1",
            user_id="U1",
            step="destination",
            answers={},
            now=clock.now(),
        )
    clock.advance(timedelta(minutes=1))
    async with transaction(sessions) as session:
        await repo.save_draft(
            session=session,
            view_key="V1",
            team_id="T1",
            user_id="U1",
            step="mode",
            answers={"destination": "private", "note": "ünïcødé ✓"},
            now=clock.now(),
        )
    async with sessions() as session:
        draft = await repo.get_draft(session=session, view_key="V1")
    assert draft is not None
    assert draft.step == "mode"
    assert draft.answers == {"destination": "private", "note": "ünïcødé ✓"}
    assert draft.updated_at == clock.now()
    assert draft.updated_at.tzinfo is UTC
    assert draft.created_at == clock.now() - timedelta(minutes=1)


async def test_purge_drafts_removes_only_old_ones(engine: AsyncEngine, clock: FakeClock) -> None:
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        for view_key, age in (("VOLD", 30), ("VNEW", 1)):
            await repo.save_draft(
                session=session,
                view_key=view_key,
                team_id="T1",
                user_id="U1",
                step="mode",
                answers={},
                now=clock.now() - timedelta(hours=age),
            )
    async with transaction(sessions) as session:
        removed = await repo.purge_drafts(
            session=session, older_than=clock.now() - timedelta(days=1)
        )
    assert removed == 1
    async with sessions() as session:
        assert await repo.get_draft(session=session, view_key="VOLD") is None
        assert await repo.get_draft(session=session, view_key="VNEW") is not None


async def test_create_connection_writes_invitation_and_audit(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    connection, invitation = await seed_connection(engine, clock)
    sessions = session_factory(engine)
    async with sessions() as session:
        found = await repo.get_connection_by_name(
            session=session, team_id="T1", name="ACME_TO_PARTNERCO"
        )
        audit = await repo.list_audit(session=session, connection_id=connection.id)
        stored = await session.get(Invitation, invitation.id)
    assert found is not None and found.id == connection.id
    assert found.status == ConnectionState.PENDING
    taken = [
        await repo.connection_name_taken(engine=engine, team_id=team, name=name)
        for team, name in (("T1", "acme_to_PARTNERCO"), ("T2", "acme_to_partnerco"), ("T1", "acme"))
    ]
    assert taken == [True, False, False]  # any case, in its own workspace, the whole name
    assert stored is not None and stored.expires_at == clock.now() + timedelta(days=14)
    assert [(a.action, a.from_state, a.to_state, a.actor) for a in audit] == [
        ("initiated", None, "PENDING", "UADMIN")
    ]


async def test_the_quick_name_check_sees_each_commit_and_copes_with_busy(
    engine: AsyncEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The acknowledgement's name check (storage.db.first_row) sees a connection the moment
    it is committed; on SQLite, where it reads on a connection of its own, a busy answer
    sends it through the pool instead, with the same result."""
    assert not await repo.connection_name_taken(
        engine=engine, team_id="T1", name="acme_to_partnerco"
    )
    await seed_connection(engine, clock)
    assert await repo.connection_name_taken(engine=engine, team_id="T1", name="acme_to_partnerco")
    if engine.dialect.name != "sqlite":
        return
    assert storage.db._SQLITE_READERS.get(engine.sync_engine) is not None  # it was used

    class Busy:
        def execute(self, *_: Any) -> Any:
            raise sqlite3.OperationalError("database is locked")

    monkeypatch.setitem(storage.db._SQLITE_READERS, engine.sync_engine, Busy())
    assert await repo.connection_name_taken(engine=engine, team_id="T1", name="acme_to_partnerco")
    assert not await repo.connection_name_taken(engine=engine, team_id="T1", name="other")


@pytest.mark.postgres
async def test_postgres_pings_only_idle_connections_and_survives_the_server_dropping_them(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection used a moment ago goes to work unpinged (a burst asks the server only its
    queries); one idle for PING_AFTER_IDLE is pinged first. When the server drops every
    connection, no caller sees it: an idle one fails its ping and the pool is replaced; one
    used too recently for a ping fails the quick read, which asks again on a pinged one."""
    engine = create_engine(postgres_url)
    await migrate(engine)
    await warm_up(engine)
    pings: list[Any] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    sessions = session_factory(engine)
    admin = await asyncpg.connect(PG_URL)

    async def backend() -> int:
        async with sessions() as session:
            return int((await session.exec(text("SELECT pg_backend_pid()"))).scalar_one())

    async def drop_every_connection() -> set[int]:
        name = postgres_url.rsplit("/", 1)[1]
        rows = await admin.fetch(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        return {row["pid"] for row in rows}

    def taken(name: str) -> Any:
        return repo.connection_name_taken(engine=engine, team_id="T1", name=name)

    try:
        monkeypatch.setattr(storage.db, "PING_AFTER_IDLE", 60.0)
        await asyncio.gather(*(taken(f"n{i}") for i in range(40)), backend())
        assert pings == []  # every connection was used within the minute

        dropped = await drop_every_connection()
        assert len(dropped) == 20
        assert not await taken("acme")  # dead and unpinged: asked again, on a new one
        assert pings == []
        pids = await asyncio.gather(*(backend() for _ in range(5)))
        assert pings and not dropped & set(pids)  # the others are pinged now, and replaced

        monkeypatch.setattr(storage.db, "PING_AFTER_IDLE", 0.0)
        pinged = len(pings)
        await backend()
        assert len(pings) == pinged + 1  # idle (for 0 s): pinged, alive

        dropped = await drop_every_connection()
        assert await backend() not in dropped  # its ping failed: a new one, and no error
        assert len(pings) == pinged + 2
    finally:
        await admin.close()
        await engine.dispose()


async def test_connection_name_is_unique_per_team_case_insensitively(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    await seed_connection(engine, clock)
    with pytest.raises(IntegrityError):
        await seed_connection(engine, clock, name="Acme_To_PartnerCo")
    other_team, _ = await seed_connection(engine, clock, team="T9")  # another workspace: fine
    assert other_team.team_id == "T9"


async def test_names_with_prefix_escapes_wildcards(engine: AsyncEngine, clock: FakeClock) -> None:
    await seed_connection(engine, clock, name="acme_to_partner")
    await seed_connection(engine, clock, name="acme_to_partner_2")
    await seed_connection(engine, clock, name="acmeXto_partner")
    async with session_factory(engine)() as session:
        names = await repo.connection_names_with_prefix(
            session=session, team_id="T1", prefix="acme_to_partner"
        )
    assert names == {"acme_to_partner", "acme_to_partner_2"}


async def test_dm_channel_cache(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    async with transaction(sessions) as session:
        assert await repo.get_dm_channels(session=session, team_id="T1", user_ids=["U1"]) == {}
        await repo.save_dm_channel(session=session, team_id="T1", user_id="U1", channel_id="D1")
    async with transaction(sessions) as session:
        await repo.save_dm_channel(session=session, team_id="T1", user_id="U1", channel_id="D2")
    async with sessions() as session:
        assert await repo.get_dm_channels(session=session, team_id="T1", user_ids=["U1", "U2"]) == {
            ("T1", "U1"): "D2"
        }
        assert await repo.get_dm_channels(session=session, team_id="T2", user_ids=["U1"]) == {}


async def test_naive_datetimes_are_refused(engine: AsyncEngine) -> None:
    from datetime import datetime

    with pytest.raises(Exception, match="naive datetime"):
        async with transaction(session_factory(engine)) as session:
            await repo.save_draft(
                session=session,
                view_key="V1",
                team_id="T1",
                user_id="U1",
                step="mode",
                answers={},
                now=datetime(2026, 1, 1),
            )


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlmodel import SQLModel

    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_replicas_starting_together_on_a_fresh_database_migrate_once(
    database_url: str,
) -> None:
    """Several processes starting at once (a deployment of replicas): every one comes up."""
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        await asyncio.wait_for(asyncio.gather(*(migrate(e) for e in engines)), timeout=60)
        for engine in engines:
            assert await pending_migrations(engine) == []
    finally:
        for engine in engines:
            await engine.dispose()


async def test_one_statement_on_sqlite_holds_no_lock_beyond_its_statement(
    tmp_path: Path, clock: FakeClock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    mine, theirs = create_engine(url), create_engine(url)  # two processes, as it were
    await migrate(mine)
    draft = {"team_id": "T1", "user_id": "U1", "step": "mode", "answers": {}, "now": clock.now()}
    try:
        async with one_statement(session_factory(mine)) as session:
            await repo.save_draft(session=session, view_key="V1", **draft)
            async with session_factory(theirs)() as other:  # already committed
                assert await repo.get_draft(session=other, view_key="V1") is not None

            async def write_elsewhere() -> None:
                async with transaction(session_factory(theirs)) as other:
                    await repo.save_draft(session=other, view_key="V2", **draft)

            await asyncio.wait_for(write_elsewhere(), timeout=5)  # the write lock is free
        async with one_statement(session_factory(mine), writes=False) as session:
            assert (
                await repo.draft_answers(session=session, view_key="V2", team_id="T1", user_id="U1")
                == {}
            )
            assert (
                await repo.draft_answers(session=session, view_key="V2", team_id="T1", user_id="U2")
                is None
            )  # someone else's draft is not theirs to read
    finally:
        await mine.dispose()
        await theirs.dispose()


async def test_one_statement_round_trip(engine: AsyncEngine, clock: FakeClock) -> None:
    sessions = session_factory(engine)
    async with one_statement(sessions) as session:
        await repo.save_draft(
            session=session,
            view_key="V",
            team_id="T",
            user_id="U",
            step="mode",
            answers={"a": 1},
            now=clock.now(),
        )
    async with one_statement(sessions, writes=False) as session:
        assert await repo.draft_answers(
            session=session, view_key="V", team_id="T", user_id="U"
        ) == {"a": 1}


async def test_a_write_inside_another_on_sqlite_fails_at_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    """One process's writers take turns; a write nested in another would wait for itself."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'nest.db'}")
    await migrate(engine)
    sessions = session_factory(engine)
    draft = {"team_id": "T1", "user_id": "U1", "step": "mode", "answers": {}, "now": clock.now()}
    try:
        async with transaction(sessions) as session:
            await repo.save_draft(session=session, view_key="V1", **draft)
            for nested in (transaction(sessions), one_statement(sessions)):
                with pytest.raises(RuntimeError, match="wait for itself"):
                    async with nested:
                        pass
        async with one_statement(sessions, writes=False) as session:  # reads never wait
            found = await repo.draft_answers(
                session=session, view_key="V1", team_id="T1", user_id="U1"
            )
        assert found == {}  # the outer write went through
    finally:
        await engine.dispose()
