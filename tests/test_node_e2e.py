"""Node mode end to end: the wizard with projects from the node and a code pasted from the
Exalate console, the DM, the status flips, a node that is down; and `exalate-bot check`."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.backend.base import BackendError
from bot.clock import FakeClock
from bot.invitations.service import Invitations
from bot.sweep import sweep
from storage.models import Connection, Invitation
from tests.harness import (
    TEST_KEY,
    Admin,
    RunningBot,
    db_rows,
    eventually,
    make_settings,
    start_bot,
)
from tests.node_emulator import NodeEmulator
from tests.slack_emulator import SlackEmulator

CODE = "eyJub2RlIjoiYWNtZSJ9.Q29kZUZyb21UaGVDb25zb2xl+/=="
PAGES = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "partnerco"},
    {"project_key": "SUP"},
    {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
)


@pytest.fixture
def bot_settings(node: NodeEmulator) -> dict[str, Any]:
    """The bot (conftest's `bot`) on this real node's REST API."""
    return node.bot_settings()


async def _to_review(bot: RunningBot, slack: SlackEmulator) -> tuple[Admin, str]:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *PAGES)
    assert admin.step(view_id) == "review"
    return admin, view_id


async def test_node_mode_wizard_pasted_code_dm_and_status_flips(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *PAGES[:3])
    options = [
        o["value"]
        for b in slack.views[view_id]["blocks"]
        if b["type"] == "input"
        for o in b["element"]["options"]
    ]
    assert options == ["SUP", "DEV"]  # the node's projects (scopeparams/search)
    await admin.walk(view_id, *PAGES[3:])

    review = json.dumps(slack.views[view_id])
    for shown in (node.base_url, "Initiate connection", "`acme_to_partnerco`", "Support (SUP)"):
        assert shown in review
    assert "Initiate" not in slack.views[view_id]["submit"]["text"]
    assert "Paste the invitation code" in (await admin.errors(view_id, {"code": ""}))["code"]
    assert "doesn't look like" in (await admin.errors(view_id, {"code": "not a code!"}))["code"]
    missing = await admin.errors(view_id, {"code": CODE})
    assert "no connection named `acme_to_partnerco`" in missing["code"]
    node.add_connection("acme_to_partnerco", status="PENDING", id=41)
    assert await db_rows(bot, Connection) == []

    body = await admin.submit(view_id, {"code": CODE[:20] + "\n" + CODE[20:]})  # a line break
    assert body["response_action"] == "update"
    [connection] = await db_rows(bot, Connection)
    assert (connection.backend, connection.backend_id, connection.status) == (
        "node",
        "41",
        "PENDING",
    )
    dm = await eventually(lambda: [m for m in slack.messages if m["channel"].startswith("D")])
    dm_text = json.dumps(dm[0])
    assert f"```{CODE}```" in dm_text.replace("\\/", "/")
    assert "partner_accept" not in dm_text and "partner_decline" in dm_text  # accepted in-console
    notices = await eventually(lambda: [m for m in slack.messages if m["channel"] == "CNOTICE"])
    assert CODE not in json.dumps(notices)

    invitations = Invitations(bot.services)
    assert await invitations.poll_status() == 0
    node.set_status("acme_to_partnerco", "ACTIVE")
    assert await invitations.poll_status() == 1
    await sweep(bot.services)
    texts = [m["text"] for m in slack.messages]
    assert any("is active, accepted by <@UPARTNER>" in t for t in texts)
    # what comes next: the thread and the admin get this node's console, the partner none
    next_steps = [m for m in slack.messages if m["text"].startswith("What comes next")]
    links = {m["channel"]: node.base_url in json.dumps(m["blocks"]) for m in next_steps}
    ims = slack._ims
    assert links == {"CNOTICE": True, ims["UADMIN"]: True, ims["UPARTNER"]: False}
    [invitation] = await db_rows(bot, Invitation)
    assert invitation.state == "REDEEMED"
    node.set_status("acme_to_partnerco", "DEACTIVATED")
    assert await invitations.poll_status() == 1
    assert await invitations.poll_status() == 0  # told once
    await sweep(bot.services)
    texts = [m["text"] for m in slack.messages]
    assert any("was deactivated on the node" in t for t in texts)
    assert any("`acme_to_partnerco` was deactivated on the Exalate node" in t for t in texts)
    node.remove_connection("acme_to_partnerco")
    assert await invitations.poll_status() == 1  # deactivated is still watched: removed
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "REMOVED"
    assert CODE not in caplog.text and node.password not in caplog.text


async def test_a_pending_connection_removed_from_the_node_is_reported(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    admin, view_id = await _to_review(bot, slack)
    node.add_connection("acme_to_partnerco", status="PENDING")
    await admin.walk(view_id, {"code": CODE})
    node.remove_connection("acme_to_partnerco")
    invitations = Invitations(bot.services)
    assert await invitations.poll_status() == 1
    await sweep(bot.services)
    [connection] = await db_rows(bot, Connection)
    [invitation] = await db_rows(bot, Invitation)
    assert (connection.status, invitation.state) == ("REMOVED", "REVOKED")
    texts = [m["text"] for m in slack.messages]
    assert any("is no longer on the Exalate node" in t for t in texts)
    assert any("was removed on the Exalate node" in t for t in texts)


async def test_a_node_down_at_the_project_step_keeps_the_answers(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *PAGES[:2])
    node.down = True
    errors = await admin.errors(view_id, PAGES[2])
    assert "is not reachable" in next(iter(errors.values()))
    assert admin.step(view_id) == "info"
    node.down = False
    await admin.walk(view_id, PAGES[2])
    assert admin.step(view_id) == "project"
    await admin.walk(view_id, PAGES[3])
    node.down = True
    await admin.walk(view_id, PAGES[4])  # the partner step doesn't need the node
    errors = await admin.errors(view_id, {"code": CODE})
    assert "is not reachable" in errors["code"]
    assert await db_rows(bot, Connection) == []


async def test_a_node_down_at_the_status_poll_changes_nothing(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    admin, view_id = await _to_review(bot, slack)
    node.add_connection("acme_to_partnerco", status="PENDING")
    await admin.walk(view_id, {"code": CODE})
    node.down = True
    with pytest.raises(BackendError, match="not reachable"):
        await Invitations(bot.services).poll_status()
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "PENDING"
    node.down = False
    node.set_status("acme_to_partnerco", "ACTIVE")
    assert await Invitations(bot.services).poll_status() == 1


async def test_accept_is_done_in_the_console_in_node_mode(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    assert bot.sender is not None
    response = await bot.sender.command("accept", user_id="UPARTNER")
    assert "Accept invitation" in response.json["text"]
    assert slack.calls_to("views.open") == []


async def _check(env: dict[str, str], cwd: Path) -> tuple[int, list[str]]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "check",
        env={**clean, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert b"Traceback" not in err, err.decode()
    return process.returncode or 0, out.decode().splitlines()


async def test_exalate_bot_check(
    slack: SlackEmulator, node: NodeEmulator, tmp_path: Path, clock: FakeClock
) -> None:
    migrated = f"sqlite:///{tmp_path / 'bot.db'}"
    bot = await start_bot(
        slack, make_settings(slack, migrated.replace("sqlite", "sqlite+aiosqlite")), clock=clock
    )
    await bot.stop()  # the database is now migrated
    healthy: dict[str, Any] = {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": migrated,
        "EXALATE_NODE_URL": node.base_url,
        "EXALATE_NODE_USER": node.user,
        "EXALATE_NODE_PASSWORD": node.password,
    }
    code, lines = await _check(healthy, tmp_path)
    assert code == 0, lines
    assert [line.split(":")[0] for line in lines] == ["slack", "node", "database"]
    assert all(": ok (" in line for line in lines)

    broken = {
        "slack": {"SLACK_BOT_TOKEN": "xoxb-wrong-token"},
        "node": {"EXALATE_NODE_PASSWORD": "wrong-password"},
        "database": {
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nope",
            "EXALATE_SECRET_KEY": TEST_KEY,
        },
    }
    for part, change in broken.items():
        code, lines = await _check({**healthy, **change}, tmp_path)
        assert code == 1, lines
        failed = [line for line in lines if "FAILED" in line]
        assert [line.split(":")[0] for line in failed] == [part], lines
        assert "wrong-password" not in "\n".join(lines)
    code, lines = await _check(
        {**healthy, "DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}"}, tmp_path
    )
    assert code == 1 and "start the bot to migrate" in lines[-1]
    code, lines = await _check({**healthy, "EXALATE_NODE_URL": ""}, tmp_path)
    assert code == 0 and "embedded local node" in lines[1]


async def test_the_status_poll_backs_off_while_the_node_is_down(
    bot: RunningBot,
    node: NodeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot import scheduler as scheduling

    admin, view_id = await _to_review(bot, bot.sender.emulator)  # type: ignore[union-attr]
    node.add_connection("acme_to_partnerco", status="PENDING")
    await admin.walk(view_id, {"code": CODE})
    poll = scheduling.create_scheduler(bot.services).get_job("status_poll").func
    node.down = True
    await poll()
    asked = len(node.calls_to("connections"))
    assert asked > 0 and "next try in 120s" in caplog.text
    await poll()  # backing off: the node is not asked
    assert len(node.calls_to("connections")) == asked
    node.down = False
    node.set_status("acme_to_partnerco", "ACTIVE")
    later = scheduling.time.monotonic() + 121
    monkeypatch.setattr(scheduling.time, "monotonic", lambda: later)
    await poll()
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "ACTIVE"


async def test_cancel_in_node_mode_says_to_delete_it_in_the_console(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    admin, view_id = await _to_review(bot, slack)
    node.add_connection("acme_to_partnerco", status="PENDING")
    await admin.walk(view_id, {"code": CODE})
    assert bot.sender is not None
    question = (await bot.sender.command("cancel acme_to_partnerco", user_id="UADMIN")).json
    message = {
        "channel": "C0GENERAL",
        "ts": "1.1",
        "text": question["text"],
        "blocks": question["blocks"],
    }
    await bot.sender.click(action_id="cancel_confirm", message=message, user_id="UADMIN")
    reply = await eventually(lambda: [r for r in slack.responses if "Cancelled" in r["text"]])
    assert "Delete the connection in the Exalate console" in reply[0]["text"]
    assert node.base_url in reply[0]["text"]
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "CANCELLED"
