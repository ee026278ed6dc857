"""A real node followed end to end (Slack emulator ↔ bot over HTTP ↔ node emulator): by the
node's id through a rename, reactivated after a deactivation, a status the bot doesn't know
shown as it comes, nodes whose paging can't be trusted, projects with a name alone, the
destination's URL checked at attach, and a malformed answer as one line."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot import scheduler as scheduling
from bot.backend.base import BackendError
from bot.backend.node import PAGE_SIZE
from bot.invitations.service import Invitations
from bot.sweep import sweep
from storage.db import transaction
from storage.models import AuditEvent, Connection
from tests.harness import Admin, RunningBot, db_rows
from tests.node_emulator import NodeEmulator
from tests.slack_emulator import SlackEmulator

CODE = "eyJub2RlIjoiYWNtZSJ9.Q29kZUZyb21UaGVDb25zb2xl+/=="
NAME = "acme_to_partnerco"
PRIVATE = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "partnerco"},
    {"project_key": "SUP"},
    {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
)
PUBLIC = (
    {"destination": "public", "destination_url": "https://Jira.PartnerCo.example/"},
    PRIVATE[1],
    {"remote_short_name": "partnerco", "connection_name": NAME},
    *PRIVATE[3:],
)


@pytest.fixture
def bot_settings(node: NodeEmulator) -> dict[str, Any]:
    """The bot (conftest's `bot`) on this real node's REST API."""
    return node.bot_settings()


async def initiated(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator, *, id: Any = 41
) -> Connection:
    """The wizard walked, the connection made in the console, its code pasted."""
    node.add_connection(NAME, status="PENDING", id=id)
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *PRIVATE, {"code": CODE})
    [connection] = await db_rows(bot, Connection)
    return connection


def thread(slack: SlackEmulator) -> list[str]:
    return [m["text"] for m in slack.messages if m["channel"] == "CNOTICE"]


def admin_dms(slack: SlackEmulator) -> list[str]:
    return [m["text"] for m in slack.messages if m["channel"] == slack._ims.get("UADMIN")]


async def audits(bot: RunningBot) -> list[tuple[str, str | None, str | None]]:
    return [(a.action, a.from_state, a.to_state) for a in await db_rows(bot, AuditEvent)]


async def test_a_connection_renamed_on_the_node_is_still_followed_to_active(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    connection = await initiated(bot, slack, node)
    assert connection.backend_id == "41"
    node.rename_connection(NAME, "Acme ↔ PartnerCo (support)")
    invitations = Invitations(bot.services)
    assert await invitations.poll_status() == 0  # renamed, still Pending: nothing to say
    node.set_status("Acme ↔ PartnerCo (support)", "ACTIVE")
    assert await invitations.poll_status() == 1
    await sweep(bot.services)
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "ACTIVE"
    assert any(f"`{NAME}` is active, accepted by <@UPARTNER>" in t for t in thread(slack))
    assert not any("no longer on the Exalate node" in t for t in thread(slack))


async def test_a_connection_without_an_id_is_found_by_name_once_then_by_id(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    connection = await initiated(bot, slack, node, id="n-77")
    async with transaction(bot.services.sessions) as session:  # as if made before ids were kept
        row = await session.get(Connection, connection.id)
        assert row is not None
        row.backend_id = None
    invitations = Invitations(bot.services)
    assert await invitations.poll_status() == 0  # found by name: its id kept, nothing to say
    [connection] = await db_rows(bot, Connection)
    assert (connection.backend_id, connection.status) == ("n-77", "PENDING")
    node.rename_connection(NAME, "renamed")
    node.set_status("renamed", "ACTIVE")
    assert await invitations.poll_status() == 1
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "ACTIVE"


async def test_deactivated_then_active_again_is_announced_as_reactivated(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    await initiated(bot, slack, node)
    invitations = Invitations(bot.services)
    for status in ("ACTIVE", "DEACTIVATED"):
        node.set_status(NAME, status)
        assert await invitations.poll_status() == 1
    node.set_status(NAME, "ACTIVE")
    assert await invitations.poll_status() == 1
    assert await invitations.poll_status() == 0  # told once
    await sweep(bot.services)
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "ACTIVE"
    said = f"`{NAME}` was reactivated on the Exalate node"
    assert thread(slack)[-1].startswith(f":arrow_forward: {said}: it is active again")
    assert any(said in t for t in admin_dms(slack))
    assert ("reactivated", "DEACTIVATED", "ACTIVE") in await audits(bot)
    moves = [a[0] for a in await audits(bot) if a[2] is not None]
    assert moves == ["initiated", "accepted", "deactivated", "reactivated"]


async def test_a_status_the_bot_does_not_know_is_shown_not_dropped(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    await initiated(bot, slack, node)
    invitations = Invitations(bot.services)
    node.set_status(NAME, "ACTIVE")
    assert await invitations.poll_status() == 1
    node.set_status(NAME, "Paused")
    assert await invitations.poll_status() == 1
    assert await invitations.poll_status() == 0  # once per change
    await sweep(bot.services)
    [connection] = await db_rows(bot, Connection)
    assert (connection.status, connection.node_status) == ("ACTIVE", "PAUSED")  # not removed
    assert f"`{NAME}` is now `PAUSED` on the Exalate node" in thread(slack)[-1]
    assert "here it stays Active" in thread(slack)[-1]
    node.set_status(NAME, "<!channel> ERROR`S")  # shown as it comes, and harmless
    assert await invitations.poll_status() == 1
    node.set_status(NAME, "ACTIVE")
    assert await invitations.poll_status() == 1
    await sweep(bot.services)
    [connection] = await db_rows(bot, Connection)
    assert (connection.status, connection.node_status) == ("ACTIVE", None)
    assert "`&lt;!CHANNEL&gt; ERROR'S`" in thread(slack)[-2]
    assert thread(slack)[-1].endswith(f"`{NAME}` is `ACTIVE` on the Exalate node again.")
    assert [a for a in await audits(bot) if a[0] == "node_status"] == [
        ("node_status", None, None)
    ] * 3
    # a known status out of turn is shown the same way; Deactivated still moves
    node.set_status(NAME, "PENDING")
    assert await invitations.poll_status() == 1
    node.set_status(NAME, "DEACTIVATED")
    assert await invitations.poll_status() == 1
    [connection] = await db_rows(bot, Connection)
    assert (connection.status, connection.node_status) == ("DEACTIVATED", None)


@pytest.mark.parametrize(
    ("paging", "asked"),
    [
        ({"paging": "ignore", "omit_total": True}, 1),  # more than asked: that is all
        ({"paging": "ignore"}, 1),
        ({"paging": "repeat_last", "omit_total": True, "page_size": 8}, 9),  # 8 pages, 1 again
    ],
)
async def test_the_poll_sees_the_whole_list_of_a_node_whose_paging_is_odd(
    bot: RunningBot,
    slack: SlackEmulator,
    node: NodeEmulator,
    paging: dict[str, Any],
    asked: int,
) -> None:
    for n in range(PAGE_SIZE + 13):
        node.add_connection(f"other-{n}", status="ACTIVE")
    await initiated(bot, slack, node, id=9001)  # the last of 64: a partial list loses it
    for option, value in paging.items():
        setattr(node, option, value)
    node.set_status(NAME, "ACTIVE")
    node.calls = []
    assert await Invitations(bot.services).poll_status() == 1
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "ACTIVE"
    assert len(node.calls_to("connections")) == asked


async def test_the_project_step_with_projects_that_have_a_name_alone(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    node.projects_name_only = True
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *PRIVATE[:3])
    [select] = [b["element"] for b in slack.views[view_id]["blocks"] if b["type"] == "input"]
    assert [o["value"] for o in select["options"]] == ["Support", "Development"]
    assert [o["text"]["text"] for o in select["options"]] == ["Support", "Development"]  # once
    await admin.walk(view_id, {"project_key": "Development"}, PRIVATE[4])
    assert "Development" in json.dumps(slack.views[view_id])
    node.add_connection(NAME, status="PENDING", id=3)
    await admin.walk(view_id, {"code": CODE})
    [connection] = await db_rows(bot, Connection)
    assert (connection.project_key, connection.project_name) == ("Development", "Development")


async def test_attach_refuses_a_connection_to_another_destination(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *PUBLIC)
    node.add_connection(NAME, status="PENDING", id=8, remote_url="https://jira.elsewhere.example")
    errors = await admin.errors(view_id, {"code": CODE})
    assert "connects to https://jira.elsewhere.example, not to " in errors["code"]
    assert "https://Jira.PartnerCo.example/" in errors["code"]
    assert await db_rows(bot, Connection) == []
    node.connection(NAME)["communication"]["remoteUrl"] = "https://jira.partnerco.example"
    await admin.walk(view_id, {"code": CODE})  # the same instance, written differently
    [connection] = await db_rows(bot, Connection)
    assert (connection.backend_id, connection.destination) == ("8", "public")


async def test_a_malformed_answer_is_one_clear_line(
    bot: RunningBot,
    slack: SlackEmulator,
    node: NodeEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *PRIVATE[:2])
    node.fail_next("scopeparams/search", malformed=True, body={"results": [{"key": 1}]})
    [error] = (await admin.errors(view_id, PRIVATE[2])).values()
    assert "answered the project search in an unexpected shape: project 1 has no `name`" in error
    assert admin.step(view_id) == "info"  # the answers kept; the next try works
    await admin.walk(view_id, *PRIVATE[2:])
    node.add_connection(NAME, status="PENDING", id=12)
    await admin.walk(view_id, {"code": CODE})

    caplog.set_level(logging.WARNING)
    poll = scheduling.create_scheduler(bot.services).get_job("status_poll").func
    node.fail_next("connections", malformed=True, body='{"results": [')
    await poll()
    node.set_status(NAME, 7)
    await poll()  # backing off: not asked
    [warning] = [r for r in caplog.records if "status poll failed" in r.getMessage()]
    assert "answered something that is not JSON to connections" in warning.getMessage()
    assert warning.exc_info is None and "\n" not in warning.getMessage()
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "PENDING"  # nothing changed on an answer it can't read
    invitations = Invitations(bot.services)
    with pytest.raises(BackendError, match=r"connection 1 \(`acme_to_partnerco`\) has no `status`"):
        await invitations.poll_status()
    node.set_status(NAME, "ACTIVE")
    assert await invitations.poll_status() == 1
