"""The reminder sweep and the footprint: a real `exalate-bot` process (SQLite) with 10,000
invitations due at once, its DM channels already known; the Slack emulator in this process.

Reports the time from start to a 200 on /healthz, resident memory idle and after the
10,000, and the bot's CPU seconds per 1,000 reminders (from /proc, so Linux only)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from bisect import bisect_left
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.oauth import KEY, oauth_env
from bench.process import cpu_seconds, free_port, healthy, rss_mb
from bot.settings import normalize_database_url
from storage.db import create_engine, migrate
from storage.models import Connection, Invitation, LocalNodeConnection
from tests.slack_emulator import SlackEmulator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "xoxb-bench-token"
NOTICES = "CNOTICES"


def start(
    slack: SlackEmulator,
    folder: str,
    port: int,
    sweep: str,
    per_minute: int = 10_000,
    *,
    oauth: bool = False,
) -> subprocess.Popen:
    """The bot on the SQLite database in `folder`; `oauth`: in OAuth mode (no SLACK_BOT_TOKEN,
    the workspaces' tokens from the installations in its database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    env |= {
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": f"sqlite:///{folder}/bench.db",
        "PORT": str(port),
        "SWEEP_INTERVAL": sweep,
        "REMINDER_HOURS": "",
        "SLACK_MESSAGES_PER_MINUTE": str(per_minute),
        "EXALATE_SECRET_KEY": KEY,
        "LOG_LEVEL": "WARNING",
    }
    if oauth:
        del env["SLACK_BOT_TOKEN"]
        env |= oauth_env()
    command = [sys.executable, "-m", "bot"]
    if sweep != "1h" and os.environ.get("BENCH_PROFILE"):  # a cProfile of the sweeping bot
        command[1:1] = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
    return subprocess.Popen(
        command,
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(process.wait, 30)


async def _seed(url: str, slack: SlackEmulator, count: int, notices: int = 0) -> None:
    """`count` pending connections in the primary workspace, each with its first reminder
    due (see `seed_rows`); the first `notices` post notices in one channel."""
    now = datetime.now(UTC)
    slack.add_user("UADMIN", name="admin", is_admin=True, tz="UTC")
    slack.add_channel(NOTICES, name="exalate-notices")
    rows = []
    for n in range(count):
        user, channel = f"UP{n:05d}", f"DP{n:05d}"
        slack.add_user(user, name=f"p{n}", tz="UTC")
        slack.add_channel(channel, name=f"dm{n}", is_im=True)
        notice = NOTICES if n < notices else None
        rows.append(seed_rows(n, slack.team_id, user, channel, now, notice_channel=notice))
    await insert_seeds(url, rows)


def seed_rows(
    n: int,
    team_id: str,
    user: str,
    channel: str,
    now: datetime,
    *,
    notice_channel: str | None = None,
    due: datetime | None = None,
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Connection `n + 1` (pending, known to the embedded node, else the status poll would find
    it gone and mark it removed) and its invitation, whose first reminder is due and whose DM
    channel is known; partner and admin in `team_id`, reached there."""
    connection = {
        "id": n + 1,
        "team_id": team_id,
        "name": f"acme_to_p{n}",
        "name_key": f"acme_to_p{n}",
        "destination": "private",
        "mode": "script",
        "local_short_name": "acme",
        "remote_short_name": f"p{n}",
        "description": "",
        "project_key": "SUP",
        "project_name": "Support",
        "backend": "local",
        "backend_id": f"bench{n:05d}",
        "status": "PENDING",
        "initiator_user_id": "UADMIN",
        "partner_user_id": user,
        "partner_team_id": team_id,
        "notice_channel": notice_channel,
        "created_at": now - timedelta(days=1),
        "updated_at": now,
    }
    invitation = {
        "id": n + 1,
        "team_id": team_id,
        "connection_id": n + 1,
        "partner_user_id": user,
        "partner_team_id": team_id,
        "reach_team_id": team_id,  # the workspace whose token DMs the partner
        "partner_tz": "UTC",
        "code_hash": f"{n:064d}",
        "state": "PENDING",
        "note": "",
        "reminders_sent": 0,
        "next_reminder_at": due or now - timedelta(minutes=1),
        "expires_at": now + timedelta(days=9),
        "dm_channel": channel,
        "created_at": now - timedelta(days=1),
        "updated_at": now,
    }
    node = {
        "id": f"bench{n:05d}",
        "team_id": team_id,
        "name": f"acme_to_p{n}",
        "status": "PENDING",
        "project_key": "SUP",
        "partner_user_id": user,
        "code_hash": f"{n:064d}",
        "created_at": now - timedelta(days=1),
        "updated_at": now,
    }
    return connection, invitation, node


async def insert_seeds(url: str, rows: list[tuple[dict[str, Any], ...]]) -> None:
    """Migrate the database at `url` and insert `seed_rows`' rows in bulk."""
    engine = create_engine(normalize_database_url(url))
    try:
        await migrate(engine)
        async with engine.begin() as conn:
            for table, i in ((Connection, 0), (Invitation, 1), (LocalNodeConnection, 2)):
                await conn.execute(insert(table), [row[i] for row in rows])
    finally:
        await engine.dispose()


def posted(slack: SlackEmulator) -> int:
    """Reminders (and notices) Slack took."""
    return sum(1 for c in slack.calls_to("chat.postMessage") if not c.failed)


async def run(count: int | None = None) -> list[dict[str, Any]]:
    count = count or int(os.environ.get("BENCH_SWEEP_COUNT", "10000"))
    port = free_port()
    async with SlackEmulator(bot_token=TOKEN) as slack:
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            bot = start(slack, folder, port, "1h")
            await healthy(port)
            startup = time.perf_counter() - started
            await asyncio.sleep(1)
            idle = rss_mb(bot.pid)
            await stop(bot)
            await _seed(f"sqlite:///{folder}/bench.db", slack, count)
            bot = start(slack, folder, port, "1s")
            await healthy(port)
            cpu_before, began = cpu_seconds(bot.pid), time.perf_counter()
            while posted(slack) < count and time.perf_counter() - began < 600:  # noqa: ASYNC110
                await asyncio.sleep(0.5)
            wall = time.perf_counter() - began
            cpu = cpu_seconds(bot.pid) - cpu_before
            after = rss_mb(bot.pid)
            await stop(bot)
    sent = posted(slack)
    per_channel = {c.params["channel"] for c in slack.calls_to("chat.postMessage")}
    return [
        {
            "run": f"{count:,} due",
            "reminders": sent,
            "distinct_channels": len(per_channel),
            "conversations_open": len(slack.calls_to("conversations.open")),
            "wall_s": wall,
            "cpu_s_per_1000": cpu / max(sent, 1) * 1000,
            "startup_s": startup,
            "rss_idle_mb": idle,
            "rss_after_mb": after,
        }
    ]


# Slack's pace, enforced by the emulator (1 message a second per channel, `slack` a minute in
# the workspace, 429 + Retry-After beyond), and the bot's SLACK_MESSAGES_PER_MINUTE: within
# the budget, then over it (as two replicas each set to the whole budget would be).
PACED = [
    ("within Slack's budget", 300, 270),
    ("over it (2 replicas at full budget)", 240, 480),
]


async def run_paced(count: int | None = None, notices: int = 20) -> list[dict[str, Any]]:
    """Reminders against an emulator that enforces Slack's pace: every one sent once, none
    lost, and how many 429s it took. `notices` connections also post a notice each, all in
    one channel (one a second there)."""
    count = count or int(os.environ.get("BENCH_PACED_COUNT", "240"))
    rows = []
    for label, slack_per_minute, bot_per_minute in PACED:
        port = free_port()
        async with SlackEmulator(bot_token=TOKEN) as slack:
            slack.enforce_pace(per_channel_seconds=1.0, per_minute=slack_per_minute)
            with tempfile.TemporaryDirectory() as folder:
                await _seed(f"sqlite:///{folder}/bench.db", slack, count, notices)
                bot = start(slack, folder, port, "1s", per_minute=bot_per_minute)
                await healthy(port)
                cpu_before, began = cpu_seconds(bot.pid), time.perf_counter()
                while posted(slack) < count + notices and time.perf_counter() - began < 600:  # noqa: ASYNC110
                    await asyncio.sleep(0.5)
                wall = time.perf_counter() - began
                await asyncio.sleep(3)  # anything sent twice would show by now
                cpu = cpu_seconds(bot.pid) - cpu_before
                await stop(bot)
        posts = slack.calls_to("chat.postMessage")
        ok = [c for c in posts if not c.failed]
        per_dm = Counter(c.params["channel"] for c in ok if c.params["channel"] != NOTICES)
        expected = {f"DP{n:05d}" for n in range(count)}
        notices_sent = Counter(c.params.get("text") for c in ok if c.params["channel"] == NOTICES)
        times = sorted(c.at for c in ok)
        busiest = max((bisect_left(times, t + 60) - i for i, t in enumerate(times)), default=0)
        rows.append(
            {
                "run": label,
                "slack_per_min": slack_per_minute,
                "bot_per_min": bot_per_minute,
                "reminders": count,
                "sent_once": sum(1 for ch in expected if per_dm[ch] == 1),
                "lost": sum(1 for ch in expected if per_dm[ch] == 0),
                "duplicates": sum(max(0, n - 1) for n in per_dm.values())
                + sum(max(0, n - 1) for n in notices_sent.values()),
                "notices": f"{len(notices_sent)}/{notices}",
                "http_429": sum(1 for c in posts if c.status == 429),
                "busiest_60s": busiest,
                "wall_s": wall,
                "cpu_s_per_1000": cpu / max(len(ok), 1) * 1000,
            }
        )
    return rows
