"""A connection seeded straight into the database, as the wizard would have made it, for the
storage tests (tests/test_storage.py, tests/test_node_status_storage.py), and what the
wizard hands a node (the node client's tests)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.backend.base import ConnectionSpec
from bot.clock import FakeClock
from storage import repo
from storage.db import session_factory, transaction
from storage.models import Connection, Invitation

ANSWERS = {
    "destination": "private",
    "destination_url": None,
    "mode": "script",
    "local_short_name": "acme",
    "remote_short_name": "partnerco",
    "connection_name": "acme_to_partnerco",
    "description": "Support escalations",
    "project_key": "SUP",
    "project_name": "Support",
    "notice_channel": "C0NOTICE",
    "note": "",
}


async def seed_connection(
    engine: AsyncEngine, clock: FakeClock, *, team: str = "T1", name: str = ""
) -> tuple[Connection, Invitation]:
    """A pending connection of `team` (named `name`, else acme_to_partnerco) with its
    invitation, created now."""
    answers = dict(ANSWERS, connection_name=name or ANSWERS["connection_name"])
    async with transaction(session_factory(engine)) as session:
        return await repo.create_connection(
            session=session,
            team_id=team,
            answers=answers,
            backend="local",
            backend_id="n1",
            initiator_user_id="UADMIN",
            partner_user_id="UPARTNER",
            partner_team_id="T2",
            code_hash=f"{team}-{answers['connection_name']}".ljust(64, "0"),
            expires_at=clock.now() + timedelta(days=14),
            next_reminder_at=clock.now() + timedelta(hours=24),
            now=clock.now(),
        )


# what the wizard hands a node for acme_to_partnerco (the node client's tests)
SPEC = ConnectionSpec(
    team_id="T1",
    name="acme_to_partnerco",
    destination="private",
    destination_url=None,
    mode="script",
    local_short_name="acme",
    remote_short_name="partnerco",
    description="",
    project_key="SUP",
    partner_user_id="UPARTNER",
    partner_team_id="T1",
)
