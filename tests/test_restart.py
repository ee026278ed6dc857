"""The real command, killed with SIGKILL in the middle of a cadence and started again: what
fell due while it was down is sent once, and the cadence carries on.

This test runs `python -m bot` with a two-second reminder interval, so it waits a few real
seconds (no minutes).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from bot.devtools.slack_requests import SlackSender
from tests.harness import SIGNING_SECRET, eventually, free_port
from tests.slack_emulator import SlackEmulator

ROOT = Path(__file__).resolve().parents[1]
WIZARD = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "partnerco"},
    {"project_key": "SUP"},
    {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
    {},
)


def _start(env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot"], env=env, cwd=cwd, stdout=out, stderr=out
        )


async def _healthy(port: int) -> None:
    async def ok() -> bool:
        try:
            async with (
                aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/healthz") as response,
            ):
                return response.status == 200
        except aiohttp.ClientError:
            return False

    await eventually(ok, within=20)


def _reminders(slack: SlackEmulator) -> list[float]:
    return [
        call.at
        for call in slack.calls_to("chat.postMessage")
        if not call.failed and "Reminder" in str(call.params.get("text"))
    ]


async def test_kill_9_mid_cadence_then_restart(slack: SlackEmulator, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))},
        "PYTHONPATH": str(ROOT),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PORT": str(port),
        "EXALATE_LOCAL_INSTANCE": "acme",
        "REMINDER_INTERVAL": "2s",
        "REMINDER_HOURS": "",
        "REMINDER_MAX": "20",
        "SWEEP_INTERVAL": "1s",
    }
    log = tmp_path / "bot.log"
    process = _start(env, tmp_path, log)
    sender = SlackSender(
        bot_url=f"http://127.0.0.1:{port}/slack/events",
        signing_secret=SIGNING_SECRET,
        emulator=slack,
    )
    try:
        await _healthy(port)
        await sender.command("connect", user_id="UADMIN")
        await eventually(lambda: slack.calls_to("views.open"))
        view_id = slack.calls_to("views.open")[-1].response["view"]["id"]
        for values in WIZARD:
            response = await sender.submit_view(view_id, values, user_id="UADMIN")
            assert response.status == 200, log.read_text()
        await eventually(lambda: len(_reminders(slack)) >= 1, within=10)

        process.send_signal(signal.SIGKILL)  # no shutdown, no cleanup
        process.wait(timeout=10)
        await asyncio.sleep(5)  # two more reminders fall due while it is down
        assert len(_reminders(slack)) == 1

        process = _start(env, tmp_path, log)
        await _healthy(port)
        restarted = time.monotonic()
        await eventually(lambda: len(_reminders(slack)) >= 2, within=10)
        caught_up = _reminders(slack)[1]
        await eventually(lambda: len(_reminders(slack)) >= 3, within=10)
        after = _reminders(slack)
        assert caught_up - restarted < 3  # sent promptly after the restart…
        assert after[2] - caught_up >= 1.9  # …once: the next waits a whole interval
        texts = [
            str(c.params["text"])
            for c in slack.calls_to("chat.postMessage")
            if "Reminder" in str(c.params.get("text"))
        ]
        assert [f"Reminder {n} of" in text for n, text in enumerate(texts[:3], 1)] == [True] * 3
    finally:
        await sender.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
