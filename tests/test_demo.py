"""`exalate-bot demo`: the whole story against the embedded emulator, checked against Slack's
specs here, and run as a newcomer would run it."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from bot import demo
from tests.slack_emulator import SlackEmulator

ROOT = Path(__file__).resolve().parents[1]


async def test_the_story_runs_to_an_active_connection_within_slacks_specs(tmp_path) -> None:
    out = io.StringIO()
    async with SlackEmulator(team_id=demo.TEAM) as slack:  # every call checked against specs
        demo.populate(slack)
        status = await demo.Story(slack, out, tmp_path).run()
        assert slack.problems == []
        posted = [c for c in slack.calls if c.method.startswith("chat.") and not c.failed]
        channels = {c.response["channel"] for c in posted}
        dm_channels = {c for c in channels if slack.dm_user(c)}
        notices = [c for c in posted if c.params["channel"] == demo.CHANNEL]
        assert len(notices) == 4  # sent, reminded twice, accepted
        assert all("EXA1-" not in str(c.params) for c in notices)  # the code stays in DMs
        assert len(slack.calls_to("conversations.open")) == len(dm_channels) == 2
    assert status == "ACTIVE"
    transcript = out.getvalue()
    assert "/exalate connect" in transcript
    assert transcript.count("Step ") >= 6  # every wizard step shown
    assert "Reminder 1 of 5" in transcript and "Reminder 2 of 5" in transcript
    assert "Reminder 3" not in transcript
    assert "is active, accepted by @Pat (Globex) after 2 days" in transcript
    assert "connection acme_to_globex: ACTIVE" in transcript
    # the reminders come at 09:00 in the partner's zone, a day apart
    assert re.findall(r"(\w{3} \d\d \w{3} \d\d:\d\d) UTC \(09:00 in New York\)", transcript) == [
        "Mon 02 Mar 14:00",
        "Tue 03 Mar 14:00",
        "Wed 04 Mar 14:00",
    ]


def test_exalate_bot_demo_needs_no_configuration_and_ignores_what_is_there(tmp_path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_APP_TOKEN=xapp-not-for-the-demo\nDATABASE_URL=postgresql://nowhere.invalid/x\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    env |= {"PYTHONPATH": str(ROOT), "REMINDER_MAX": "1", "LOG_LEVEL": "DEBUG"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Reminder 2 of 5" in done.stdout  # REMINDER_MAX from the environment: ignored
    assert re.search(r"Done in \d+\.\d s: the connection is active\.", done.stdout)
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]  # nothing left behind


def test_demo_is_in_the_usage() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and "exalate-bot demo" in done.stdout
