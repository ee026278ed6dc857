"""The App Home tab and `/exalate list` with 100,000 connections, on SQLite and PostgreSQL.

Builds what the bot would publish or answer (the database queries and the Block Kit), without
Slack in the way, and reports the time per build.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bot.app import create_services
from bot.clock import FakeClock
from bot.commands.operations import Operations
from bot.home.flow import Home
from bot.settings import Settings
from storage.db import create_engine, migrate
from storage.models import Connection, Invitation

TEAM = "T0BENCH"


def bench_settings(url: str, **overrides: str) -> Settings:
    """The bot's settings for a benchmark on `url`: one admin, a fixed key, Slack nowhere
    (`overrides`: an emulator's token and URL, say)."""
    values = {
        "slack_bot_token": "xoxb-bench",
        "slack_signing_secret": "bench",
        "slack_api_url": "http://127.0.0.1:9/api/",
        "database_url": url,
        "exalate_admins": "UADMIN",
        "exalate_secret_key": "Qmw6Q2l3UzN0b0p3c1dGbGVfR0o0Z1B5bWQ5T3F0b0E=",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def connection_row(n: int, created: datetime, status: str, activated: datetime | None) -> dict:
    """Connection `acme_to_p<n>`'s values, for a bulk insert (this module's and the funnel's)."""
    return {
        "id": n + 1,
        "team_id": TEAM,
        "name": f"acme_to_p{n:06d}",
        "name_key": f"acme_to_p{n:06d}",
        "destination": "private",
        "mode": "script",
        "local_short_name": "acme",
        "remote_short_name": f"p{n}",
        "description": "",
        "project_key": "SUP",
        "project_name": "Support",
        "backend": "local",
        "backend_id": None,
        "status": status,
        "initiator_user_id": "UADMIN",
        "partner_user_id": f"UP{n % 1000:04d}",
        "partner_team_id": TEAM,
        "created_at": created,
        "updated_at": created,
        "activated_at": activated,
    }


STATES = ["PENDING"] * 2 + ["ACTIVE"] * 6 + ["EXPIRED", "DECLINED", "CANCELLED"]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def fill(url: str, count: int) -> None:
    """`count` connections (and one invitation each) in batches, as fast as the driver goes."""
    engine = create_engine(url)
    await migrate(engine)
    rng = random.Random(7)
    batch = 5000
    async with engine.begin() as conn:
        for start in range(0, count, batch):
            connections, invitations = [], []
            for n in range(start, min(start + batch, count)):
                status = rng.choice(STATES)
                created = NOW - timedelta(minutes=count - n)
                activated = created + timedelta(hours=5) if status == "ACTIVE" else None
                connections.append(connection_row(n, created, status, activated))
                invitations.append(
                    {
                        "id": n + 1,
                        "team_id": TEAM,
                        "connection_id": n + 1,
                        "partner_user_id": f"UP{n % 1000:04d}",
                        "partner_team_id": TEAM,
                        "code_hash": f"{n:064d}",
                        "state": "PENDING" if status == "PENDING" else "REDEEMED",
                        "note": "",
                        "reminders_sent": n % 3,
                        "next_reminder_at": created + timedelta(days=1),
                        "expires_at": created + timedelta(days=14),
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            await conn.execute(insert(Connection), connections)
            await conn.execute(insert(Invitation), invitations)
    if url.startswith("postgresql"):
        async with engine.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text("ANALYZE"))
            for table in ("connection", "invitation"):
                await conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {count})")
                )
    await engine.dispose()


async def measure(label: str, repeat: int, action: Any) -> dict[str, Any]:
    await action()  # warm the caches and the pool
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = await action()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    blocks = len(result.get("blocks", [])) if isinstance(result, dict) else 0
    return {
        "what": label,
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
        "blocks": blocks,
    }


async def run(url: str, *, count: int = 100_000, repeat: int = 30) -> list[dict[str, Any]]:
    await fill(url, count)
    settings = bench_settings(url)
    services = create_services(settings, clock=FakeClock(NOW))
    home, operations = Home(services), Operations(services)
    try:
        return [
            await measure(
                "Home (admin)",
                repeat,
                lambda: home.view(team_id=TEAM, user_id="UADMIN", is_admin=True),
            ),
            await measure(
                "Home (partner)",
                repeat,
                lambda: home.view(team_id=TEAM, user_id="UP0042", is_admin=False),
            ),
            await measure(
                "list pending", repeat, lambda: operations.list(team_id=TEAM, which="pending")
            ),
            await measure(
                "list all, page 500",
                repeat,
                lambda: operations.list(team_id=TEAM, which="all", offset=5000),
            ),
            await measure("status (near miss)", repeat, lambda: _near_miss(operations)),
        ]
    finally:
        await services.engine.dispose()


async def _near_miss(operations: Operations) -> dict[str, Any]:
    from bot.invitations.errors import Refused

    try:
        await operations.status(team_id=TEAM, name="acme_to_p05000x")
    except Refused as refused:
        return {"text": str(refused)}
    return {}
