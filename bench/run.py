"""Run the benchmarks and print a table: `python -m bench.run [home | oversized | ...]`.

PostgreSQL from BENCH_POSTGRES_URL (default: the local server's `postgres` database, where a
scratch database is created and dropped).
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg

from bot.settings import normalize_database_url

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@asynccontextmanager
async def databases() -> AsyncIterator[list[tuple[str, str]]]:
    """A fresh SQLite file and a fresh PostgreSQL database."""
    with tempfile.TemporaryDirectory() as folder:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(PG_URL)
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield [
                ("sqlite", normalize_database_url(f"sqlite:///{folder}/bench.db")),
                ("postgresql", normalize_database_url(f"{PG_URL.rsplit('/', 1)[0]}/{name}")),
            ]
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """A Markdown table."""
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]

    def line(values: list[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if value < 10 else f"{value:.1f}"
    return "" if value is None else str(value)


async def bench_home() -> list[dict[str, Any]]:
    from bench import home

    rows = []
    async with databases() as dbs:
        for label, url in dbs:
            for row in await home.run(url):
                rows.append({"database": label, **row})
    return rows


async def bench_funnel() -> list[dict[str, Any]]:
    from bench import funnel

    rows = []
    async with databases() as dbs:
        for label, url in dbs:
            for row in await funnel.run(url):
                rows.append({"database": label, **row})
    return rows


async def bench_ack() -> list[dict[str, Any]]:
    from bench import ack

    async with databases() as dbs:
        return await ack.run(dbs)


async def bench_ack_oauth() -> list[dict[str, Any]]:
    from bench import ack

    # bare Bolt's installation store on a database of its own, of the same kind as the bot's
    async with databases() as bots, databases() as bares:
        pairs = [(label, url, bare) for (label, url), (_, bare) in zip(bots, bares, strict=True)]
        return await ack.run_oauth(pairs)


async def bench_sweep_oauth() -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    from bench import sweep_oauth

    return await sweep_oauth.run()


async def bench_export() -> list[dict[str, Any]]:
    from bench import export

    async with databases() as dbs:
        return await export.run(dbs)


async def bench_oversized() -> list[dict[str, Any]]:
    from bench import oversized

    return await oversized.run()


async def bench_sweep() -> list[dict[str, Any]]:
    from bench import sweep

    return await sweep.run()


async def bench_sweep_paced() -> list[dict[str, Any]]:
    from bench import sweep

    return await sweep.run_paced()


SWEEP_PACED = [
    "run",
    "slack_per_min",
    "bot_per_min",
    "reminders",
    "sent_once",
    "lost",
    "duplicates",
    "notices",
    "http_429",
    "busiest_60s",
    "wall_s",
    "cpu_s_per_1000",
]

BENCHES: dict[str, tuple[Callable[[], Awaitable[Any]], list[str] | None]] = {
    "sweep": (
        bench_sweep,
        [
            "run",
            "reminders",
            "distinct_channels",
            "conversations_open",
            "wall_s",
            "cpu_s_per_1000",
            "startup_s",
            "rss_idle_mb",
            "rss_after_mb",
        ],
    ),
    "ack": (
        bench_ack,
        [
            "database",
            "users",
            "requests",
            "bot_p50_ms",
            "bot_p99_ms",
            "bare_p50_ms",
            "bare_p99_ms",
            "p50_ratio",
            "p99_ratio",
            "errors",
            "bot_cpu_ms",
            "bare_cpu_ms",
        ],
    ),
    "ack-oauth": (
        bench_ack_oauth,
        [
            "database",
            "against",
            "workspaces",
            "users",
            "requests",
            "bot_p50_ms",
            "bot_p99_ms",
            "bare_p50_ms",
            "bare_p99_ms",
            "p50_ratio",
            "p99_ratio",
            "errors",
            "bot_cpu_ms",
            "bare_cpu_ms",
            "bot_slack_calls",
            "bare_slack_calls",
            "bot_auth_test",
            "bare_auth_test",
        ],
    ),
    # a bench whose columns are None prints the tables it returns: (title, rows, columns)
    "sweep-oauth": (bench_sweep_oauth, None),
    "home": (bench_home, ["database", "what", "p50_ms", "p95_ms", "blocks"]),
    "funnel": (
        bench_funnel,
        ["database", "what", "sent", "accepted", "p50_ms", "p95_ms", "seed_s"],
    ),
    "export": (
        bench_export,
        [
            "database",
            "days",
            "audit_rows",
            "csv_mib",
            "wall_s",
            "cpu_s",
            "rows_per_s",
            "peak_mib",
            "seed_s",
        ],
    ),
    "oversized": (
        bench_oversized,
        [
            "server",
            "posts",
            "body_mib",
            "answers",
            "rss_idle_mb",
            "rss_warm_mb",
            "rss_after_mb",
            "growth_mb",
            "wall_s",
        ],
    ),
}
# benchmarks that print a second table, against Slack's pace (`sweep` runs both)
FOLLOWED_BY = {"sweep": (bench_sweep_paced, SWEEP_PACED)}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    for name in names:
        if name not in BENCHES:
            print(f"unknown benchmark {name!r}; known: {', '.join(BENCHES)}", file=sys.stderr)
            return 2
        bench, columns = BENCHES[name]
        print(f"\n## {name}\n")
        result = asyncio.run(bench())
        if columns is not None:
            print(table(result, columns))
        for title, rows, its_columns in result if columns is None else []:
            if title:
                print(f"\n{title}:\n")
            print(table(rows, its_columns))
        if name in FOLLOWED_BY:
            bench, columns = FOLLOWED_BY[name]
            print(f"\n## {name}, against Slack's pace\n")
            print(table(asyncio.run(bench()), columns))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
