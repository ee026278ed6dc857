"""Acknowledgement latency: `/exalate connect` and each wizard submission, signed and sent
over HTTP to the bot (a real `exalate-bot` process), its Web API in the Slack emulator; beside
a bare Bolt AsyncApp that only acks and opens the same view, in the same run.

`run` is single-token mode; `run_oauth` OAuth mode, the app installed in several workspaces
(bench/oauth.py) and the requests spread over them, bare Bolt reading the same installation
store with Bolt's own authorize."""

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

from bench.oauth import KEY, installed_workspaces, oauth_env, seed_installations
from bench.process import cpu_seconds, free_port, healthy
from bot.devtools.slack_emulator import SlackEmulator, Workspace
from bot.devtools.slack_requests import SlackSender, command_payload

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"
QUICK = bool(os.environ.get("BENCH_QUICK"))  # a smoke run: tiny sizes, figures meaningless
REPEATS = 1 if QUICK else 3  # runs of each server at each concurrency, in turns, pooled
# users and rounds each: enough requests for a steady p99
LOADS = ((1, 3), (5, 2)) if QUICK else ((1, 30), (10, 10), (50, 4))
WORKSPACES = int(os.environ.get("BENCH_WORKSPACES", "4" if QUICK else "20"))  # OAuth mode
STEPS = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "partnerco"},
    {"project_key": "SUP"},
    {"partner_user_id": "UPARTNER"},
)


def _start(
    kind: str, port: int, slack: SlackEmulator, database_url: str, folder: str, oauth: bool
) -> Any:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    env["PYTHONPATH"] = str(ROOT)
    if kind in ("bare", "bare-cached"):
        command = [sys.executable, "-m", "bench.bare_bolt", str(port), slack.base_url]
        if oauth:  # Bolt's authorize over the installation store on this database
            command.append(database_url)
        if kind == "bare-cached":
            command.append("cached")
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
            "EXALATE_SECRET_KEY": KEY,
        }
        if oauth:
            del env["SLACK_BOT_TOKEN"]
            env |= oauth_env()
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
    teams: list[Workspace],
    first: int = 0,
) -> None:
    """`rounds` of the wizard, each in the next of `teams` (from the `first`)."""
    for n in range(rounds):
        workspace = teams[(first + n) % len(teams)]
        trigger = workspace.issue_trigger_id()
        payload = command_payload(
            text="connect",
            user_id=user,
            trigger_id=trigger,
            response_url=slack.response_url(),
            team_id=workspace.team_id,
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
    if kind.startswith("bare"):
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


async def _visit(sender: SlackSender, slack: SlackEmulator, user: str, team: Workspace) -> None:
    """A command in `team`, its view left unanswered: the workspace's installation, and the
    user's admin role there, are known to the server from now on."""
    trigger = team.issue_trigger_id()
    payload = command_payload(
        text="connect",
        user_id=user,
        trigger_id=trigger,
        response_url=slack.response_url(),
        team_id=team.team_id,
    )
    await sender.post(urlencode(payload), "application/x-www-form-urlencoded")
    await _opened_with(slack, trigger)


async def measure(
    kind: str, database_url: str, users: int, rounds: int, workspaces: int = 0
) -> dict[str, Any]:
    """One run of one server; `workspaces` > 0: OAuth mode, the app installed in that many,
    user n's round r in workspace n * rounds + r (modulo), so all of them get requests."""
    oauth = workspaces > 0
    async with SlackEmulator(bot_token="xoxb-bench-token") as slack:
        teams = installed_workspaces(slack, workspaces) if oauth else [slack.primary]
        for team in teams:
            team.add_user("UPARTNER", name="pat")
            for n in range(users):
                team.add_user(f"UADMIN{n}", name=f"admin{n}", is_admin=True)
        if oauth:
            await seed_installations(database_url, teams)
        port = free_port()
        with tempfile.TemporaryDirectory() as folder:
            server = _start(kind, port, slack, database_url, folder, oauth)
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
                # (in OAuth mode, with a command in every other workspace the user will use)
                warm_up: dict[str, list[float]] = {"command": [], "submission": [], "errors": []}
                await asyncio.gather(
                    *(
                        _user(sender, slack, f"UADMIN{n}", 1, warm_up, kind, teams, n * rounds)
                        for n in range(users)
                    )
                )
                visits = [
                    _visit(sender, slack, f"UADMIN{n}", teams[(n * rounds + r) % len(teams)])
                    for n in range(users)
                    for r in range(1, min(rounds, len(teams)))
                ]
                await asyncio.gather(*visits)
                cpu_before, own_before = cpu_seconds(server.pid), time.process_time()
                calls_before = len(slack.calls)
                # the load's own garbage collection stays out of the figures (as in timeit):
                # a full pass here stalled every request in flight for 30-70 ms
                gc.collect()
                gc.disable()
                try:
                    await asyncio.gather(
                        *(
                            _user(
                                sender,
                                slack,
                                f"UADMIN{n}",
                                rounds,
                                latencies,
                                kind,
                                teams,
                                n * rounds,
                            )
                            for n in range(users)
                        )
                    )
                finally:
                    gc.enable()
                await asyncio.sleep(0.2)  # the work after the last ack
                server_cpu = cpu_seconds(server.pid) - cpu_before
                own_cpu = time.process_time() - own_before
                calls = slack.calls[calls_before:]
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
        "slack_calls": len(calls),
        "auth_test": sum(1 for call in calls if call.method == "auth.test"),
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
        "slack_calls": sum(run["slack_calls"] for run in runs),
        "auth_test": sum(run["auth_test"] for run in runs),
    }


def _row(label: str, users: int, bot: dict[str, Any], bare: dict[str, Any]) -> dict[str, Any]:
    return {
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
        "bot_slack_calls": bot["slack_calls"],
        "bare_slack_calls": bare["slack_calls"],
        "bot_auth_test": bot["auth_test"],
        "bare_auth_test": bare["auth_test"],
    }


def _plain(url: str) -> str:
    """The URL as DATABASE_URL takes it (the bot and bare Bolt pick their drivers)."""
    return url.replace("+aiosqlite", "").replace("+asyncpg", "")


async def run(databases: list[tuple[str, str]]) -> list[dict[str, Any]]:
    rows = []
    for users, rounds in LOADS:
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], **{db: [] for db, _ in databases}}
        for _ in range(REPEATS):  # taking turns, so that the machine's drift falls on all alike
            runs["bare"].append(await measure("bare", "", users, rounds))
            for label, url in databases:
                runs[label].append(await measure("bot", _plain(url), users, rounds))
        bare = _pooled(runs["bare"])
        for label, _ in databases:
            rows.append(_row(label, users, _pooled(runs[label]), bare))
    return rows


async def run_oauth(databases: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """OAuth mode: (label, the bot's database, bare Bolt's) for each kind of database; bare
    Bolt's store on its own database of the same kind, holding the same installations."""
    rows = []
    for users, rounds in LOADS:
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(REPEATS):  # taking turns, so that the machine's drift falls on all alike
            for label, bot_url, bare_url in databases:
                for kind, url in (("bare", bare_url), ("bare-cached", bare_url), ("bot", bot_url)):
                    run = await measure(kind, _plain(url), users, rounds, WORKSPACES)
                    runs.setdefault((kind, label), []).append(run)
        for label, _, _ in databases:
            bot = _pooled(runs["bot", label])
            for yardstick in ("bare", "bare-cached"):  # Bolt as it ships; its cache on
                bare = _pooled(runs[yardstick, label])
                row = _row(label, users, bot, bare)
                rows.append({"workspaces": WORKSPACES, "against": yardstick, **row})
    return rows
