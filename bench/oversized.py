"""Resident memory under oversized posts: a real `exalate-bot` process and a bare Bolt app
each get COUNT unsigned posts whose body (with its Content-Length) is over both servers'
limits, one after the other, the whole body sent as a stranger would; their resident memory
(VmRSS, from /proc) before and after. Then the bot gets as many unsigned posts just under
its limit, which it reads whole before refusing them (401). Run as `python -m bench.run oversized`;
BENCH_OVERSIZED_COUNT changes the count."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Any

from bench.process import free_port, healthy, rss_mb
from bot.devtools.slack_emulator import SlackEmulator
from bot.edge import MAX_BODY

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
COUNT = int(os.environ.get("BENCH_OVERSIZED_COUNT", "1000"))
# over the bot's limit (bot.edge.MAX_BODY, 2 MiB) and bare Bolt's (aiohttp's 1 MiB)
BODY_SIZE = MAX_BODY + 256 * 1024
WARM_UP = 10  # posts before the "warm" figure: the first ones allocate the path once


def start(
    kind: str,
    port: int,
    api_url: str,
    folder: str,
    *,
    log: Path | None = None,
    token: str = "xoxb-bench-token",
    secret: str = SECRET,
) -> Any:
    """`python -m bot` (SQLite in `folder`, its log in `log`) or bench/bare_bolt.py,
    listening on `port`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    env["PYTHONPATH"] = str(ROOT)
    if kind == "bare":
        command = [sys.executable, "-m", "bench.bare_bolt", str(port), api_url]
    else:
        command = [sys.executable, "-m", "bot"]
        env |= {
            "SLACK_BOT_TOKEN": token,
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": api_url,
            "DATABASE_URL": f"sqlite:///{folder}/bench.db",
            "PORT": str(port),
            "EXALATE_LOCAL_INSTANCE": "acme",
            "LOG_LEVEL": "WARNING",
        }
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(command, env=env, cwd=folder, stdout=out, stderr=out)
    finally:
        if log is not None:
            out.close()  # type: ignore[union-attr]


async def post_oversized(port: int, body: bytes) -> int:
    """One unsigned POST of `body` with its Content-Length, sent whole; the status of the
    answer, or 0 if the connection closed without one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    try:
        writer.write(head.encode())
        writer.write(body)
        with suppress(ConnectionError):
            await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 30)
        parts = line.split()
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    except ConnectionError:
        return 0
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


async def flood(port: int, count: int, size: int = BODY_SIZE) -> Counter[int]:
    """`count` oversized posts, one after the other; how many got each status."""
    body = b"payload=" + b"x" * (size - len(b"payload="))
    statuses: Counter[int] = Counter()
    for _ in range(count):
        statuses[await post_oversized(port, body)] += 1
    return statuses


async def measure(kind: str, count: int, size: int = BODY_SIZE) -> dict[str, Any]:
    async with SlackEmulator(bot_token="xoxb-bench-token") as slack:
        port = free_port()
        with tempfile.TemporaryDirectory() as folder:
            server = start(kind, port, slack.base_url, folder)
            try:
                await healthy(port)
                await asyncio.sleep(0.5)  # start-up's last work (the first sweep, the heap)
                idle = rss_mb(server.pid)
                await flood(port, WARM_UP, size)
                warm = rss_mb(server.pid)
                started = time.perf_counter()
                statuses = await flood(port, count, size)
                wall = time.perf_counter() - started
                after = rss_mb(server.pid)
            finally:
                server.terminate()
                await asyncio.to_thread(server.wait, 30)
    return {
        "server": "exalate-bot" if kind == "bot" else "bare Bolt",
        "posts": count,
        "body_mib": size / 2**20,
        "answers": ", ".join(f"{n} x {status or 'none'}" for status, n in sorted(statuses.items())),
        "rss_idle_mb": idle,
        "rss_warm_mb": warm,
        "rss_after_mb": after,
        "growth_mb": after - idle,
        "wall_s": wall,
    }


async def run() -> list[dict[str, Any]]:
    return [
        await measure("bare", COUNT),
        await measure("bot", COUNT),
        # under the limit: read whole, then refused for its signature (401)
        await measure("bot", COUNT, MAX_BODY - 64 * 1024),
    ]
