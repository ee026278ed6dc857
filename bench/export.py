"""`/exalate export` at 100,000 connections, on SQLite and PostgreSQL, to the Slack emulator.

100,000 connections (bench/home.py's fill: one invitation each, one minute apart, the newest
now) and two audit rows each (initiated, invitation_dm_sent): 200,000 audit rows. The export
runs as after the command's ack (bot/export/flow.py: the keyset pages into a temporary file,
then the three upload steps to the emulator, which spools what it is sent to disk), for two
windows of the same database: the last 7 days (about 10,000 connections, 20,000 rows) and the
last 70 (all of them). Each is run twice: once timed, once under tracemalloc for the peak of
Python's allocations during the export (the bot's and the emulator's, in this one process):
flat memory means the same peak for ten times the rows.
"""

from __future__ import annotations

import os
import re
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert, text

from bench.home import NOW, TEAM, bench_settings, fill
from bot.app import create_services
from bot.clock import FakeClock
from bot.devtools.slack_emulator import SlackEmulator
from bot.export.flow import export
from bot.export.texts import done
from bot.settings import Settings
from storage.db import create_engine
from storage.models import AuditEvent

QUICK = bool(os.environ.get("BENCH_QUICK"))  # a smoke run: tiny sizes, figures meaningless
COUNT = 2_000 if QUICK else 100_000
WINDOWS = (7, 70)  # days: ~10,000 connections, and all 100,000


async def fill_audit(url: str, count: int) -> None:
    """Two audit rows for each of fill()'s connections, at its creation."""
    engine = create_engine(url)
    batch = 5000
    async with engine.begin() as conn:
        for start in range(0, count, batch):
            rows: list[dict[str, Any]] = []
            for n in range(start, min(start + batch, count)):
                created = NOW - timedelta(minutes=count - n)
                common = {"team_id": TEAM, "connection_id": n + 1, "at": created}
                rows.append(
                    common
                    | {
                        "invitation_id": n + 1,
                        "actor": "UADMIN",
                        "action": "initiated",
                        "from_state": None,
                        "to_state": "PENDING",
                        "detail": f"invited UP{n % 1000:04d}",
                    }
                )
                rows.append(
                    common
                    | {
                        "invitation_id": n + 1,
                        "actor": "system",
                        "action": "invitation_dm_sent",
                        "from_state": None,
                        "to_state": None,
                        "detail": f"to UP{n % 1000:04d}",
                    }
                )
            await conn.execute(insert(AuditEvent), rows)
    if url.startswith("postgresql"):
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()


async def run(dbs: list[tuple[str, str]], *, count: int = COUNT) -> list[dict[str, Any]]:
    results = []
    async with SlackEmulator() as slack:
        slack.add_user("UADMIN", name="ada", is_admin=True)
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        for label, url in dbs:
            started = time.perf_counter()
            await fill(url, count)
            await fill_audit(url, count)
            seeded = time.perf_counter() - started
            services = create_services(_settings(slack, url), clock=FakeClock(NOW))
            try:
                for days in WINDOWS:
                    results.append(
                        await _measure(services, client, slack, label, days) | {"seed_s": seeded}
                    )
            finally:
                await services.engine.dispose()
    return results


async def _measure(
    services: Any, client: AsyncWebClient, slack: SlackEmulator, label: str, days: int
) -> dict[str, Any]:
    async def once() -> str:
        return await export(services, client, team_id=TEAM, user_id="UADMIN", days=days)

    await once()  # warm: the pool, the statement caches
    started, cpu = time.perf_counter(), time.process_time()
    reply = await once()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    upload = slack.files.completed[-1]
    events = int(re.search(r"(\d+) audit events", reply).group(1))  # type: ignore[union-attr]
    assert reply == done(events, days), reply
    tracemalloc.start()
    try:
        await once()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    for shared in slack.files.completed:
        shared.close()
    slack.files.completed.clear()
    slack.files.uploads.clear()
    return {
        "database": label,
        "days": days,
        "audit_rows": events,
        "csv_mib": upload.length / 2**20,
        "wall_s": wall,
        "cpu_s": cpu,
        "rows_per_s": round(events / wall),
        "peak_mib": peak / 2**20,
    }


def _settings(slack: SlackEmulator, url: str) -> Settings:
    return bench_settings(url, slack_bot_token=slack.bot_token, slack_api_url=slack.base_url)
