"""The reminder sweep in OAuth mode: a real `exalate-bot` (SQLite) installed in 100 workspaces,
100 reminders due in each (10,000), each going out in its own workspace with that workspace's
token; the emulator paces every workspace on its own (`enforce_pace`), and a few workspaces
answer 429 + Retry-After for a while. Beside it, in the same run, single-token mode's sweep of
the same 10,000 in one workspace, and OAuth mode with no 429s.

Reports every reminder once, none lost, the bot's CPU seconds per 1,000 reminders (from /proc,
so Linux only), and when each workspace got its last reminder: the workspaces answering 429
against the others, which must be done as soon as in the run without 429s."""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.oauth import installed_workspaces, seed_installations
from bench.process import cpu_seconds, free_port, healthy
from bench.sweep import TOKEN, insert_seeds, posted, seed_rows, start, stop
from bot.devtools.slack_emulator import Workspace
from tests.slack_emulator import SlackEmulator

QUICK = bool(os.environ.get("BENCH_QUICK"))  # a smoke run: tiny sizes, figures meaningless
WORKSPACES = int(os.environ.get("BENCH_SWEEP_WORKSPACES", "5" if QUICK else "100"))
PER_WORKSPACE = int(os.environ.get("BENCH_SWEEP_PER_WORKSPACE", "10" if QUICK else "100"))
LIMITED = 1 if QUICK else 3  # workspaces answering 429 for a while...
LIMITED_SECONDS = 3.0 if QUICK else 20.0  # ...this long from the first sweep...
RETRY_AFTER = 1 if QUICK else 2  # ...each 429 with this Retry-After (seconds)
SLACK_PER_MINUTE = 300  # the emulator's pace in each workspace (and 1 a second per channel)
BOT_PER_MINUTE = 240  # SLACK_MESSAGES_PER_MINUTE, a workspace's budget in the bot (its default)
DEADLINE = 600.0

SUMMARY = [
    "run",
    "workspaces",
    "reminders",
    "sent_once",
    "lost",
    "duplicates",
    "http_429",
    "wall_s",
    "cpu_s_per_1000",
]
COMPLETION = [
    "run",
    "which",
    "workspaces",
    "reminders",
    "http_429",
    "done_min_s",
    "done_p50_s",
    "done_max_s",
]


def _seed_slack(teams: list[Workspace], total: int) -> list[tuple[dict[str, Any], ...]]:
    """Partner n in workspace n % len(teams) (so the due reminders of all the workspaces are
    interleaved, as reminders due at once are), with the admin there too; their rows."""
    now = datetime.now(UTC)
    earliest = now - timedelta(minutes=10)
    for team in teams:
        team.add_user("UADMIN", name="admin", is_admin=True, tz="UTC")
    rows = []
    for n in range(total):
        team, user, channel = teams[n % len(teams)], f"UP{n:05d}", f"DP{n:05d}"
        team.add_user(user, name=f"p{n}", tz="UTC")
        team.add_channel(channel, name=f"dm{n}", is_im=True)
        due = earliest + timedelta(milliseconds=n)  # due in this order, every one past
        rows.append(seed_rows(n, team.team_id, user, channel, now, due=due))
    return rows


async def _limit(slack: SlackEmulator, teams: list[str], until: float) -> None:
    """Until `until` (monotonic), the next chat.postMessage in each of `teams` is answered 429
    + Retry-After, whenever it comes: one fault waits for each team at any time."""
    queued = dict.fromkeys(teams, 0)
    taken, seen = dict.fromkeys(teams, 0), 0
    while time.monotonic() < until:
        for call in slack.calls[seen:]:
            if call.team_id in taken and call.method == "chat.postMessage" and call.failed:
                taken[call.team_id] += 1
        seen = len(slack.calls)
        for team in teams:
            if queued[team] <= taken[team]:
                slack.fail_next(
                    "chat.postMessage", status=429, retry_after=RETRY_AFTER, team_id=team
                )
                queued[team] += 1
        await asyncio.sleep(0.05)


async def _sweep(label: str, *, workspaces: int, oauth: bool, limited: int = 0) -> dict[str, Any]:
    """One run: the bot sweeps WORKSPACES x PER_WORKSPACE due reminders over `workspaces`."""
    total = WORKSPACES * PER_WORKSPACE
    port = free_port()
    async with SlackEmulator(bot_token=TOKEN) as slack:
        teams = installed_workspaces(slack, workspaces) if oauth else [slack.primary]
        if oauth:
            slack.enforce_pace(per_channel_seconds=1.0, per_minute=SLACK_PER_MINUTE)
        rows = _seed_slack(teams, total)
        limited_teams = [t.team_id for t in teams[1 : 1 + limited]]
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            if oauth:
                await seed_installations(url, teams)
            await insert_seeds(url, rows)
            per_minute = BOT_PER_MINUTE if oauth else 10_000  # single token: as bench/sweep.py
            bot = start(slack, folder, port, "1s", per_minute, oauth=oauth)
            await healthy(port)
            cpu_before, began = cpu_seconds(bot.pid), time.monotonic()
            limiting = asyncio.ensure_future(_limit(slack, limited_teams, began + LIMITED_SECONDS))
            try:
                while posted(slack) < total and time.monotonic() - began < DEADLINE:  # noqa: ASYNC110
                    await asyncio.sleep(0.25)
                wall = time.monotonic() - began
                cpu = cpu_seconds(bot.pid) - cpu_before
                await asyncio.sleep(3)  # anything sent twice would show by now
            finally:
                limiting.cancel()
                await stop(bot)
    return _report(label, slack, teams, limited_teams, began, wall, cpu)


def _report(
    label: str,
    slack: SlackEmulator,
    teams: list[Workspace],
    limited: list[str],
    began: float,
    wall: float,
    cpu: float,
) -> dict[str, Any]:
    posts = slack.calls_to("chat.postMessage")
    ok = [c for c in posts if not c.failed]
    per_dm = Counter(c.params["channel"] for c in ok)
    expected = [f"DP{n:05d}" for n in range(WORKSPACES * PER_WORKSPACE)]
    done: dict[str | None, float] = {}
    for call in ok:
        done[call.team_id] = max(done.get(call.team_id, 0.0), call.at - began)
    summary = {
        "run": label,
        "workspaces": len(teams),
        "reminders": len(expected),
        "sent_once": sum(1 for ch in expected if per_dm[ch] == 1),
        "lost": sum(1 for ch in expected if per_dm[ch] == 0),
        "duplicates": sum(max(0, n - 1) for n in per_dm.values()),
        "http_429": sum(1 for c in posts if c.status == 429),
        "wall_s": wall,
        "cpu_s_per_1000": cpu / max(len(ok), 1) * 1000,
    }
    others = [t.team_id for t in teams if t.team_id not in limited]
    groups = [("answering 429", limited)] if limited else []
    completion = []
    for which, ids in [*groups, ("the others" if limited else "all", others)]:
        times = [done.get(i, DEADLINE) for i in ids]
        completion.append(
            {
                "run": label,
                "which": which,
                "workspaces": len(ids),
                "reminders": sum(1 for c in ok if c.team_id in ids),
                "http_429": sum(1 for c in posts if c.status == 429 and c.team_id in ids),
                "done_min_s": min(times),
                "done_p50_s": statistics.median(times),
                "done_max_s": max(times),
            }
        )
    return {"summary": summary, "completion": completion}


async def run() -> list[tuple[str, list[dict[str, Any]], list[str]]]:
    """The three runs, one after the other; two tables (title, rows, columns)."""
    total = f"{WORKSPACES * PER_WORKSPACE:,}"
    runs = [
        await _sweep(f"single token, {total} due", workspaces=1, oauth=False),
        await _sweep(f"OAuth, {total} due", workspaces=WORKSPACES, oauth=True),
        await _sweep(
            f"OAuth, {total} due, {LIMITED} answering 429 for {LIMITED_SECONDS:g} s",
            workspaces=WORKSPACES,
            oauth=True,
            limited=LIMITED,
        ),
    ]
    return [
        ("", [r["summary"] for r in runs], SUMMARY),
        (
            "when each workspace got its last reminder, s after /healthz",
            [row for r in runs[1:] for row in r["completion"]],
            COMPLETION,
        ),
    ]
