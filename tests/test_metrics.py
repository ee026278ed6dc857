"""`GET /metrics` in Prometheus format, and JSON logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.__main__ import configure_logging
from bot.security import new_code
from tests.harness import RunningBot, World, at
from tests.slack_emulator import SlackEmulator


async def scrape(bot: RunningBot) -> dict[tuple[str, tuple], float]:
    async with aiohttp.ClientSession() as http, http.get(f"{bot.url}/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = await response.text()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def by_state(seen: dict[tuple[str, tuple], float], name: str) -> dict[str, float]:
    return {dict(labels)["state"]: v for (n, labels), v in seen.items() if n == name}


async def test_metrics(bot: RunningBot, slack: SlackEmulator) -> None:
    world = World(bot, slack, bot.services.clock)  # type: ignore[arg-type]
    code = await world.initiate()
    slack.fail_next("chat.postMessage", error="ratelimited")
    await world.sweep(at(3, 14))
    await world.sweep(at(3, 15))
    seen = await scrape(bot)
    assert by_state(seen, "exalate_connections") == {
        "PENDING": 1,
        "ACTIVE": 0,
        "DEACTIVATED": 0,
        "DECLINED": 0,
        "EXPIRED": 0,
        "CANCELLED": 0,
        "REMOVED": 0,
        "APPROVAL": 0,
        "REJECTED": 0,
    }
    assert by_state(seen, "exalate_invitations") == {
        "PENDING": 1,
        "REDEEMED": 0,
        "EXPIRED": 0,
        "REVOKED": 0,
    }
    assert seen[("exalate_reminders_sent_total", ())] == 1
    assert seen[("exalate_slack_api_calls_total", (("method", "views.open"),))] == 1
    assert seen[("exalate_slack_api_calls_total", (("method", "chat.postMessage"),))] >= 3
    errors = (
        "exalate_slack_api_errors_total",
        (("error", "ratelimited"), ("method", "chat.postMessage")),
    )
    assert seen[errors] == 1
    acks = [
        v
        for (name, labels), v in seen.items()
        if name == "exalate_ack_seconds_count" and ("kind", "view_submission") in labels
    ]
    assert acks == [6]  # the six wizard steps
    assert seen[("exalate_ack_seconds_count", (("kind", "command"),))] == 1

    await world.click("partner_accept", world.with_buttons("UPARTNER")[-1], "UPARTNER")
    await world.accept_modal("UPARTNER", code)
    seen = await scrape(bot)  # a state left empty reads 0, not its last count
    assert by_state(seen, "exalate_connections")["PENDING"] == 0
    assert by_state(seen, "exalate_connections")["ACTIVE"] == 1
    assert by_state(seen, "exalate_invitations")["PENDING"] == 0
    assert by_state(seen, "exalate_invitations")["REDEEMED"] == 1


def test_json_logs_are_one_object_a_line_and_masked(tmp_path: Path) -> None:
    code = new_code()
    script = (
        "import logging; from bot.__main__ import configure_logging; "
        "configure_logging('INFO', 'json'); "
        f"logging.getLogger('bot.test').info('hello %s', '{code}')"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30
    )
    [line] = result.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["level"] == "INFO" and record["logger"] == "bot.test"
    assert record["message"] == "hello [redacted]" and code not in line


def test_text_logs_stay_the_default() -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quieted = {
        name: logging.getLogger(name).level
        for name in ("slack_sdk", "slack_bolt", "aiohttp.access", "alembic", "apscheduler")
    }
    try:
        configure_logging("INFO")
        assert not root.handlers[0].formatter.__class__.__name__.startswith("Json")
        assert logging.getLogger("slack_sdk").level == logging.WARNING  # bodies only at DEBUG
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in quieted.items():
            logging.getLogger(name).setLevel(was)
