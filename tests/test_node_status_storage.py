"""What the status poll keeps of a real node, on SQLite and PostgreSQL: the connections it
watches (Deactivated among them), the node's id found by name, and the node's own status
beside the bot's state, changed by one of two pollers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from storage import repo
from storage.db import session_factory, transaction
from storage.models import Connection, ConnectionState
from tests.seeds import seed_connection

CS = ConnectionState


async def test_deactivated_connections_are_watched(engine: AsyncEngine, clock: FakeClock) -> None:
    sessions = session_factory(engine)
    made = {}
    for state in CS:
        connection, _ = await seed_connection(engine, clock, name=f"c-{state.lower()}")
        made[state] = connection.id
        if state != CS.PENDING:
            async with transaction(sessions) as session:
                assert await repo.move_connection(
                    session=session,
                    connection_id=connection.id,
                    frm=CS.PENDING,
                    to=state,
                    now=clock.now(),
                )
    async with sessions() as session:
        watched = await repo.watched_connections(session=session, backend="local")
        assert await repo.watched_connections(session=session, backend="node") == []
    assert sorted(row.status for row in watched) == ["ACTIVE", "DEACTIVATED", "PENDING"]
    assert {row.id for row in watched} == {made[s] for s in (CS.PENDING, CS.ACTIVE, CS.DEACTIVATED)}
    assert all(row.node_status is None and row.backend_id == "n1" for row in watched)


async def test_the_node_status_is_set_once_and_cleared(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    sessions = session_factory(engine)
    connection, _ = await seed_connection(engine, clock)

    async def set_to(value: str | None) -> bool:
        async with transaction(sessions) as session:
            return await repo.set_node_status(
                session=session, connection_id=connection.id, node_status=value, now=clock.now()
            )

    assert await set_to(None) is False  # nothing to clear
    assert await set_to("PAUSED") is True
    assert await set_to("PAUSED") is False  # a second poller: nothing to announce
    assert await set_to("ERROR") is True
    assert await set_to(None) is True
    assert await set_to(None) is False
    async with transaction(sessions) as session:
        await repo.remember_backend_id(
            session=session, connection_id=connection.id, backend_id="node-41", now=clock.now()
        )
    async with sessions() as session:
        row = await session.get(Connection, connection.id)
    assert row is not None and (row.backend_id, row.node_status) == ("node-41", None)
