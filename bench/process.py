"""The server under measurement, seen from outside: a free port, when it answers /healthz,
its CPU time and resident memory (from /proc, so Linux only)."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import aiohttp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def healthy(port: int, deadline: float = 30.0) -> None:
    """Wait for a 200 on /healthz."""
    async with aiohttp.ClientSession() as http:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            try:
                async with http.get(f"http://127.0.0.1:{port}/healthz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.01)
    raise RuntimeError(f"nothing answered /healthz on port {port} within {deadline:.0f} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
