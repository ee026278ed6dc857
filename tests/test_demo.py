"""`exalate-bot demo`: the two-company story (Ada in Acme's Slack, Pat in Globex's, the app
installed in each over HTTP) against the embedded emulator, checked against Slack's specs
here, and run as a newcomer would run it."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from bot import demo
from tests.slack_emulator import SlackEmulator

ROOT = Path(__file__).resolve().parents[1]
PAT_DM = "✉ [Globex's Slack] DM to Pat Parker"
NOTICE = "✉ [Acme's Slack] #exalate-notices"
ADA_DM = "✉ [Acme's Slack] DM to Ada Lovelace"
ADA_MODAL = "┌ [Acme's Slack] modal for Ada Lovelace"


def sections_showing(transcript: str, text: str) -> set[str]:
    """The header of each message or modal of the transcript whose lines show `text`."""
    found, header = set(), ""
    for line in transcript.splitlines():
        stripped = line.strip()
        if stripped.startswith(("✉", "┌")):
            header = stripped.partition(":")[0]
        elif not line.startswith(("      ", "    │", "    └")):
            header = ""  # an action, a heading: outside any message or modal
        if text in line:
            found.add(header or line)
    return found


async def test_the_two_company_story_runs_to_an_active_connection_within_slacks_specs(
    tmp_path,
) -> None:
    out = io.StringIO()
    async with SlackEmulator(**demo.EMULATOR) as slack:  # every call checked against specs
        demo.populate(slack)
        status = await demo.Story(slack, out, tmp_path).run()
        assert slack.problems == []
        acme, globex = slack.workspace(demo.ACME), slack.workspace(demo.GLOBEX)
        # installed by their admins through the authorize page, nothing denied
        assert [(a.team_id, a.user_id, a.denied) for a in slack.authorizations] == [
            (demo.ACME, demo.ADMIN, False),
            (demo.GLOBEX, demo.GLOBEX_ADMIN, False),
        ]
        assert acme.installed and globex.installed
        posted = [c for c in slack.calls if c.method.startswith("chat.") and not c.failed]
        notices = [c for c in posted if c.params["channel"] == demo.CHANNEL]
        new = [c for c in notices if c.method == "chat.postMessage"]
        assert len(new) == 6  # the card; sent, reminded twice, accepted, what comes next
        card = new[0].response["ts"]
        edits = [c for c in notices if c.method == "chat.update"]
        assert edits and {c.params["ts"] for c in edits} == {card}  # the card, kept current
        assert {(c.team_id, c.token) for c in notices} == {(demo.ACME, acme.bot_token)}
        pat_im = globex._ims[demo.PARTNER]
        to_pat = [c for c in posted if c.response.get("channel") == pat_im]
        posts = [c for c in to_pat if c.method == "chat.postMessage"]
        assert len(posts) == 4  # the invitation, two reminders, what comes next
        assert any(c.method == "chat.update" for c in to_pat)  # buttons taken away
        assert {(c.team_id, c.token) for c in to_pat} == {(demo.GLOBEX, globex.bot_token)}
        assert demo.PARTNER not in acme._ims and demo.ADMIN not in globex._ims
        for call in slack.calls:  # neither Slack hears of the other's people or channel
            said = json.dumps(call.params)
            if call.team_id == demo.ACME:
                assert demo.PARTNER not in said, call
            if call.team_id == demo.GLOBEX:
                assert demo.ADMIN not in said and demo.CHANNEL not in said, call
        code = re.search(r"EXA1-[\w-]{43}", out.getvalue())
        assert code is not None
        carried = {
            (c.method, c.team_id) for c in slack.calls if code.group() in json.dumps(c.params)
        }
        # the DM to Pat, and that DM edited when the first reminder took its buttons away
        # (its code still works, so it stays readable); the admin's result view in Acme
        assert carried == {
            ("chat.postMessage", demo.GLOBEX),
            ("chat.update", demo.GLOBEX),
            ("views.update", demo.ACME),
        }
        secrets = [a.code for a in slack.authorizations] + [a.state for a in slack.authorizations]
        secrets += [acme.bot_token, globex.bot_token]
    assert status == "ACTIVE"
    transcript = out.getvalue()
    assert "Ada adds the Exalate app to Acme's Slack" in transcript
    assert "Gina adds the Exalate app to Globex's Slack" in transcript
    assert transcript.count("Thank you!") == 2  # the bot's page after each install
    assert "[Acme's Slack] Ada Lovelace › /exalate connect" in transcript
    assert transcript.count("Step ") >= 6  # every wizard step shown
    assert "Pat Parker (Globex), in Globex's Slack" in transcript  # the review
    # whose Slack each message appears in
    assert transcript.count(PAT_DM + ":") == 4
    card_edits = transcript.count(f"{NOTICE} (edited)")
    assert transcript.count(NOTICE) - card_edits == 6  # the card, then 5 lines in its thread
    assert card_edits >= 3  # the card kept current: reminders, acceptance
    assert "[Acme's Slack] DM to Pat" not in transcript
    assert "[Globex's Slack] #" not in transcript
    assert "[Globex's Slack] modal for Pat Parker: Accept invitation" in transcript
    # the code: only in Pat's DM and Ada's modal, never a channel
    # (Pat's DM still shows it once the first reminder took its buttons: the code works)
    assert sections_showing(transcript, code.group()) == {PAT_DM, f"{PAT_DM} (edited)", ADA_MODAL}
    assert all(s and s not in transcript for s in secrets)
    assert "Reminder 1 of 5" in transcript and "Reminder 2 of 5" in transcript
    assert "Reminder 3" not in transcript
    assert "is active, accepted by Pat Parker (Globex) after 2 days" in transcript
    assert sections_showing(transcript, "is active: Pat Parker (Globex) accepted") == {ADA_DM}
    # what comes next, on each side: the thread, Ada, and Pat in Globex's Slack
    assert sections_showing(transcript, "What comes next for `acme_to_globex`") == {
        NOTICE + " (in the thread)",
        ADA_DM,
        PAT_DM,
    }
    assert sections_showing(transcript, "edit your side's") == {PAT_DM}
    assert "connection acme_to_globex: ACTIVE (Acme ↔ Globex)" in transcript
    # the reminders come at 09:00 in Pat's zone, a day apart
    reminders = r"(\w{3} \d\d \w{3} \d\d:\d\d) UTC \(09:00 in New York\) · a day passes"
    assert re.findall(reminders, transcript) == ["Tue 03 Mar 14:00", "Wed 04 Mar 14:00"]


def test_the_transcripts_sections_are_told_apart() -> None:
    transcript = "\n".join(
        [
            "  [Acme's Slack] Ada › /exalate connect",
            f"    {ADA_MODAL}: Connection initiated",
            "    │ ```EXA1-x```",
            "    └",
            f"    {NOTICE}:",
            "      sent to Pat",
            "  [Globex's Slack] Pat › pastes EXA1-x",
        ]
    )
    assert sections_showing(transcript, "EXA1-x") == {
        ADA_MODAL,
        "  [Globex's Slack] Pat › pastes EXA1-x",
    }
    assert sections_showing(transcript, "sent to Pat") == {NOTICE}


def test_exalate_bot_demo_needs_no_configuration_and_ignores_what_is_there(tmp_path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-not-for-the-demo\nSLACK_APP_TOKEN=xapp-not-for-the-demo\n"
        "DATABASE_URL=postgresql://nowhere.invalid/x\n"
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
    assert PAT_DM in done.stdout and NOTICE in done.stdout  # OAuth mode, two workspaces
    assert "xoxb-" not in done.stdout + done.stderr
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
