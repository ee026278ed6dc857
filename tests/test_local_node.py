"""The embedded node on both databases, at sizes the status poll meets in production."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.backend.base import ConnectionRef, Project
from bot.backend.local import LocalNode
from bot.clock import FakeClock
from storage.db import session_factory
from storage.repo.local_node import STATUS_CHUNK
from tests.harness import connection_spec


async def test_statuses_of_more_connections_than_a_statement_takes_parameters(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    node = LocalNode(
        sessions=session_factory(engine),
        instance="acme",
        projects=[Project("SUP", "Support")],
        clock=clock,
    )
    known = [(await node.initiate(connection_spec(n))).backend_id for n in range(3)]
    asked = [ConnectionRef(backend_id=f"gone-{n}", name=f"gone_{n}") for n in range(40_000)]
    asked[::15_000] = [
        ConnectionRef(backend_id=b, name=f"acme_to_p{i}") for i, b in enumerate(known)
    ]
    assert len(asked) > 32_767 and len(asked) > 2 * STATUS_CHUNK
    assert await node.statuses(asked) == dict.fromkeys(known, "PENDING")
