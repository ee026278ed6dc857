"""Acknowledgement latency: `/exalate connect` and each wizard submission, signed and sent
over HTTP to the bot (a real `exalate-bot` process), its Web API in the Slack emulator; beside
a bare Bolt AsyncApp that only acks and opens the same view, in the same run."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.process import cpu_seconds, free_port, healthy
from bot.devtools.slack_emulator import SlackEmulator
from bot.devtools.slack_requests import SlackSender, command_payload

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
REPEATS = 3  # runs of each server at each concurrency, in turns, their samples pooled
STEPS = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "partnerco"},
    {"project_key": "SUP"},
    {"partner_user_id": "UPARTNER"},
)


def _start(kind: str, port: int, slack: SlackEmulator, database_url: str, folder: str) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    env["PYTHONPATH"] = str(ROOT)
    if kind == "bare":
        command = [sys.executable, "-m", "bench.bare_bolt", str(port), slack.base_url]
    else:
        command = [sys.executable, "-m", "bot"]
        if os.environ.get("BENCH_PROFILE"):  # a cProfile of the bot, for finding hot spots
            command[1:1] = ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
        env |= {
            "SLACK_BOT_TOKEN": "xoxb-bench-token",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.base_url,
            "DATABASE_URL": database_url,
            "PORT": str(port),
            "EXALATE_LOCAL_INSTANCE": "acme",
            "LOG_LEVEL": "WARNING",
            "EXALATE_SECRET_KEY": "Qmw6Q2l3UzN0b0p3c1dGbGVfR0o0Z1B5bWQ5T3F0b0E=",
        }
    return subprocess.Popen(
        command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def _user(
    sender: SlackSender,
    slack: SlackEmulator,
    user: str,
    rounds: int,
    latencies: dict[str, list[float]],
    kind: str,
) -> None:
    for n in range(rounds):
        trigger = slack.issue_trigger_id()
        payload = command_payload(
            text="connect",
            user_id=user,
            trigger_id=trigger,
            response_url=slack.response_url(),
            team_id=slack.team_id,
        )
        started = time.perf_counter()
        await sender.post(urlencode(payload), "application/x-www-form-urlencoded")
        latencies["command"].append(time.perf_counter() - started)
        try:
            view_id = await _opened_with(slack, trigger)
        except TimeoutError:
            latencies["errors"].append(0.0)  # too late: the trigger_id expired
            continue
        for values in _answers(kind, user, n):
            started = time.perf_counter()
            response = await sender.submit_view(view_id, values, user_id=user)
            latencies["submission"].append(time.perf_counter() - started)
            if response.status != 200 or (response.json or {}).get("response_action") != "update":
                latencies["errors"].append(0.0)  # counted, and this round ends here
                break


def _answers(kind: str, user: str, n: int) -> list[dict[str, str]]:
    """A round's submissions: the wizard's five steps for the bot; as many for bare Bolt,
    which answers every one with its second view (so the same count, the same mix)."""
    if kind == "bare":
        return [STEPS[0]] + [STEPS[1]] * (len(STEPS) - 1)
    answers = [dict(step) for step in STEPS]
    # every connection needs its own name
    answers[2]["remote_short_name"] = f"p{user.lower()}_{n}_{time.monotonic_ns()}"[:40]
    return answers


async def _opened_with(slack: SlackEmulator, trigger: str) -> str:
    """The view the server opened with this command's trigger_id (after its ack)."""
    call = await slack.wait_for_call(
        "views.open", lambda c: c.params.get("trigger_id") == trigger and "view" in c.response
    )
    return str(call.response["view"]["id"])


def _stats(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return statistics.median(ordered) * 1000, p99 * 1000


async def measure(kind: str, database_url: str, users: int, rounds: int) -> dict[str, Any]:
    async with SlackEmulator(bot_token="xoxb-bench-token") as slack:
        slack.add_user("UPARTNER", name="pat")
        for n in range(users):
            slack.add_user(f"UADMIN{n}", name=f"admin{n}", is_admin=True)
        port = free_port()
        with tempfile.TemporaryDirectory() as folder:
            server = _start(kind, port, slack, database_url, folder)
            sender = SlackSender(
                bot_url=f"http://127.0.0.1:{port}/slack/events",
                signing_secret=SECRET,
                emulator=slack,
            )
            try:
                await healthy(port)
                latencies: dict[str, list[float]] = {"command": [], "submission": [], "errors": []}
                # a warm-up round at the same concurrency, not measured: connections to the
                # database and to Slack are open, as in a bot that has been up for a while
                warm_up: dict[str, list[float]] = {"command": [], "submission": [], "errors": []}
                await asyncio.gather(
                    *(_user(sender, slack, f"UADMIN{n}", 1, warm_up, kind) for n in range(users))
                )
                cpu_before, own_before = cpu_seconds(server.pid), time.process_time()
                # the load's own garbage collection stays out of the figures (as in timeit):
                # a full pass here stalled every request in flight for 30-70 ms
                gc.collect()
                gc.disable()
                try:
                    await asyncio.gather(
                        *(
                            _user(sender, slack, f"UADMIN{n}", rounds, latencies, kind)
                            for n in range(users)
                        )
                    )
                finally:
                    gc.enable()
                await asyncio.sleep(0.2)  # the work after the last ack
                server_cpu = cpu_seconds(server.pid) - cpu_before
                own_cpu = time.process_time() - own_before
            finally:
                await sender.close()
                server.terminate()
                await asyncio.to_thread(server.wait, 30)
    everything = latencies["command"] + latencies["submission"]
    return {
        "samples": everything,
        "errors": len(latencies["errors"]),
        "server_cpu_s": server_cpu,
        "client_cpu_s": own_cpu,
    }


def _pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    samples = [sample for run in runs for sample in run["samples"]]
    p50, p99 = _stats(samples)
    return {
        "requests": len(samples),
        "p50_ms": p50,
        "p99_ms": p99,
        "errors": sum(run["errors"] for run in runs),
        "server_cpu_ms": sum(run["server_cpu_s"] for run in runs) * 1000 / max(1, len(samples)),
    }


async def run(databases: list[tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for users, rounds in ((1, 30), (10, 10), (50, 4)):  # enough requests for a steady p99
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], **{db: [] for db, _ in databases}}
        for _ in range(REPEATS):  # taking turns, so that the machine's drift falls on all alike
            runs["bare"].append(await measure("bare", "", users, rounds))
            for label, url in databases:
                bot_url = url.replace("+aiosqlite", "").replace("+asyncpg", "")
                runs[label].append(await measure("bot", bot_url, users, rounds))
        bare = _pooled(runs["bare"])
        for label, _ in databases:
            bot = _pooled(runs[label])
            rows.append(
                {
                    "database": label,
                    "users": users,
                    "requests": bot["requests"],
                    "bot_p50_ms": bot["p50_ms"],
                    "bot_p99_ms": bot["p99_ms"],
                    "bare_p50_ms": bare["p50_ms"],
                    "bare_p99_ms": bare["p99_ms"],
                    "errors": bot["errors"],
                    "bot_cpu_ms": bot["server_cpu_ms"],
                    "bare_cpu_ms": bare["server_cpu_ms"],
                    "p50_ratio": bot["p50_ms"] / bare["p50_ms"],
                    "p99_ratio": bot["p99_ms"] / bare["p99_ms"],
                }
            )
    return rows
