"""The invitation funnel (`/exalate report`, the admin's Home tab) with 100,000 connections in
one workspace, on SQLite and PostgreSQL.

The history: 100,000 connections first invited over the last 120 days (so 90 days hold three
quarters of them, 30 days a quarter), 5% without a code, 5% resent once; of those with a
code 45% accepted (Active, some Deactivated or Removed since) after 10 minutes to 12 days,
the rest pending, declined, expired or cancelled; 0 to 5 reminders an invitation. Times the
repository function for each window, and the report as the bot answers it (both windows and
the Block Kit), without Slack in the way: the median of 20 runs after a warm-up.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from bench.home import TEAM, bench_settings, connection_row
from bot.app import create_services
from bot.clock import FakeClock
from bot.report.report import report
from storage import repo
from storage.db import create_engine, migrate
from storage.models import Connection, Invitation

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
SPAN = timedelta(days=120)
# with a code: accepted (and its state now), or not
OUTCOMES = (
    ["ACTIVE"] * 40
    + ["DEACTIVATED"] * 3
    + ["REMOVED"] * 2
    # not accepted
    + ["PENDING"] * 15
    + ["DECLINED"] * 10
    + ["EXPIRED"] * 20
    + ["CANCELLED"] * 10
)
ACCEPTED = {"ACTIVE", "DEACTIVATED", "REMOVED"}


def _invitation(i: int, n: int, created: datetime, state: str, reminders: int) -> dict:
    return {
        "id": i,
        "team_id": TEAM,
        "connection_id": n + 1,
        "partner_user_id": f"UP{n % 1000:04d}",
        "partner_team_id": TEAM,
        "code_hash": f"{i:064d}",
        "state": state,
        "note": "",
        "reminders_sent": reminders,
        "next_reminder_at": None,
        "expires_at": created + timedelta(days=14),
        "created_at": created,
        "updated_at": created,
    }


def history(count: int) -> tuple[list[dict], list[dict]]:
    rng = random.Random(19)
    connections, invitations = [], []
    for n in range(count):
        created = NOW - SPAN * (count - n) / count
        if rng.random() < 0.05:  # without a code: accepted on the destination, no invitation
            connections.append(connection_row(n, created, "ACTIVE", created + timedelta(hours=1)))
            continue
        status = rng.choice(OUTCOMES)
        after = timedelta(minutes=rng.randint(10, 12 * 24 * 60))
        activated = created + after if status in ACCEPTED else None
        if activated is not None and activated > NOW:
            activated, status = None, "PENDING"
        connections.append(connection_row(n, created, status, activated))
        state = "REDEEMED" if activated else ("PENDING" if status == "PENDING" else "REVOKED")
        if rng.random() < 0.05 and created + timedelta(days=1) < NOW:  # resent a day later
            invitations.append(_invitation(len(invitations) + 1, n, created, "REVOKED", 5))
            created += timedelta(days=1)
        invitations.append(_invitation(len(invitations) + 1, n, created, state, rng.randint(0, 5)))
    return connections, invitations


async def fill(url: str, count: int) -> None:
    engine = create_engine(url)
    await migrate(engine)
    connections, invitations = history(count)
    async with engine.begin() as conn:
        for start in range(0, len(connections), 5000):
            await conn.execute(insert(Connection), connections[start : start + 5000])
        for start in range(0, len(invitations), 5000):
            await conn.execute(insert(Invitation), invitations[start : start + 5000])
    if url.startswith("postgresql"):
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def measure(label: str, repeat: int, action: Callable[[], Awaitable[Any]]) -> dict:
    result = await action()  # warm the caches and the pool
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    figures = result if isinstance(result, repo.FunnelFigures) else None
    return {
        "what": label,
        "sent": figures.sent if figures else None,
        "accepted": figures.accepted if figures else None,
        "p50_ms": statistics.median(times),
        "p95_ms": times[int(len(times) * 0.95) - 1],
    }


async def run(url: str, *, count: int = 100_000, repeat: int = 20) -> list[dict[str, Any]]:
    started = time.perf_counter()
    await fill(url, count)
    seeded = time.perf_counter() - started
    settings = bench_settings(url)
    services = create_services(settings, clock=FakeClock(NOW))

    def window(days: int) -> Callable[[], Awaitable[Any]]:
        async def read() -> repo.FunnelFigures:
            async with services.sessions() as session:
                return await repo.funnel(
                    session=session, team_id=TEAM, since=NOW - timedelta(days=days), now=NOW
                )

        return read

    try:
        rows = [
            await measure("funnel, 30 days", repeat, window(30)),
            await measure("funnel, 90 days", repeat, window(90)),
            await measure("/exalate report", repeat, lambda: report(services, team_id=TEAM)),
        ]
    finally:
        await services.engine.dispose()
    return [row | {"seed_s": seeded} for row in rows]
