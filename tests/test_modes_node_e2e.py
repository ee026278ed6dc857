"""Visual and Basic on a real node (the node emulator), end to end over HTTP: the admin makes
the connection in the Exalate console. Without a code (Visual; Basic with admin access) the
review lists the values and the steps to finish on the destination, asks for no code, checks
that the node has the connection and follows it to Active; with one (Basic without admin
access) the admin pastes the console's code as before. What comes next links this node's
console for the admin and the thread; expiry, this bot's rule, doesn't stop a node's code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.invitations.service import Invitations
from bot.sweep import sweep
from storage.models import Connection, Invitation
from tests.harness import Admin, RunningBot, at, db_rows, eventually
from tests.node_emulator import NodeEmulator
from tests.slack_emulator import SlackEmulator

DESTINATION = "https://partnerco.atlassian.net"
URL = {"destination": "public", "destination_url": DESTINATION}
VISUAL = (URL, {"mode": "visual"}, {"remote_short_name": "partnerco"}, {"project_key": "SUP"})
BASIC = (URL, {"mode": "basic"}, {"project_key": "SUP"})
NOTICES = {"notice_channel": "CNOTICE"}
NAME = "acme_to_partnerco"
CODE = "eyJub2RlIjoiYWNtZSJ9.Q29kZUZyb21UaGVDb25zb2xl+/=="


@pytest.fixture
def bot_settings(node: NodeEmulator) -> dict[str, Any]:
    """The bot (conftest's `bot`) on this real node's REST API."""
    return node.bot_settings()


def dms(slack: SlackEmulator, user: str) -> list[dict[str, Any]]:
    channel = slack._ims.get(user)
    return [m for m in slack.messages if m["channel"] == channel]


def thread(slack: SlackEmulator) -> list[dict[str, Any]]:
    """The replies under the connection's status card (the channel's first message)."""
    return [m for m in slack.messages if m["channel"] == "CNOTICE"][1:]


def nothing_to_the_partner(slack: SlackEmulator) -> None:
    opened = [c.params.get("users") for c in slack.calls_to("conversations.open")]
    assert "UPARTNER" not in opened and dms(slack, "UPARTNER") == []


async def test_visual_on_a_node_is_made_in_the_console_and_asks_for_no_code(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *VISUAL, NOTICES)
    review = slack.views[view_id]
    text = json.dumps(review)
    assert review["submit"]["text"] == "I've created it"
    for shown in (node.base_url, "Initiate connection", "Verify admin access", f"`{NAME}`"):
        assert shown in text, shown
    assert [b for b in review["blocks"] if b["type"] == "input"] == []  # no code to paste

    await admin.walk(view_id, {})  # not made in the console yet
    assert f"no connection named `{NAME}` on the node yet" in json.dumps(slack.views[view_id])
    assert await db_rows(bot, Connection) == []

    # made in the console and accepted in the destination's pop-up: Active at once
    node.add_connection(NAME, status="ACTIVE", id=7, remote_url=DESTINATION)
    await admin.walk(view_id, {})
    result = json.dumps(slack.views[view_id])
    assert "*Active*" in result and "already reports" in result
    [connection] = await db_rows(bot, Connection)
    assert (connection.backend, connection.status, connection.mode) == ("node", "ACTIVE", "visual")
    assert await db_rows(bot, Invitation) == []
    said = await eventually(lambda: thread(slack)[2:] and thread(slack))
    assert "with no invitation code" in said[0]["text"]
    assert "is active: accepted on the destination" in said[1]["text"]
    assert node.base_url in json.dumps(said[2]["blocks"])  # this node's console
    admin_dms = await eventually(lambda: dms(slack, "UADMIN")[1:] and dms(slack, "UADMIN"))
    assert [m["text"].startswith("What comes next") for m in admin_dms] == [False, True]
    assert "admin_accepted_on_destination" not in json.dumps(admin_dms)  # the node reports it
    nothing_to_the_partner(slack)
    assert "EXA1-" not in json.dumps([c.params for c in slack.calls])


async def test_basic_with_admin_access_on_a_node_is_followed_to_active(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *BASIC, {"admin_access": "yes"}, NOTICES)
    text = json.dumps(slack.views[view_id])
    assert "Do you have admin access to the destination instance?: Yes, I have admin access" in (
        text
    )
    assert "takes you to the destination" in text
    node.add_connection(NAME, status="PENDING", id=12, remote_url=DESTINATION)
    await admin.walk(view_id, {})
    result = json.dumps(slack.views[view_id])
    assert "*Pending*" in result and node.base_url in result
    [finish] = await eventually(lambda: dms(slack, "UADMIN"))
    assert "finish it on the destination" in finish["text"]
    assert "admin_accepted_on_destination" not in json.dumps(finish)
    assert await db_rows(bot, Invitation) == []

    invitations = Invitations(bot.services)
    assert await invitations.poll_status() == 0  # Pending on the node too
    node.set_status(NAME, "ACTIVE")
    assert await invitations.poll_status() == 1
    await sweep(bot.services)
    [connection] = await db_rows(bot, Connection)
    assert connection.status == "ACTIVE"
    last = thread(slack)[-2:]
    assert "is active: accepted on the destination" in last[0]["text"]
    steps = json.dumps(last[1]["blocks"])
    assert "Basic mode's are fixed" in steps and node.base_url in steps
    nothing_to_the_partner(slack)


async def test_basic_without_admin_access_on_a_node_takes_the_consoles_code(
    bot: RunningBot, slack: SlackEmulator, node: NodeEmulator, clock: FakeClock
) -> None:
    admin = Admin(bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *BASIC, {"admin_access": "no"})
    assert admin.step(view_id) == "partner"
    await admin.walk(view_id, {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"})
    review = slack.views[view_id]
    assert review["submit"]["text"] == "Send to partner"
    assert [b["block_id"] for b in review["blocks"] if b["type"] == "input"] == ["code"]
    node.add_connection(NAME, status="PENDING", id=13, remote_url=DESTINATION)
    await admin.walk(view_id, {"code": CODE})
    [dm] = await eventually(lambda: dms(slack, "UPARTNER"))
    assert f"```{CODE}```" in json.dumps(dm).replace("\\/", "/")

    # expiry is this bot's rule: on a node the code still works until the console deletes it
    clock.set(at(17, 14))
    assert (await Invitations(bot.services).expire_due()) == 1
    await sweep(bot.services)
    to_partner = dms(slack, "UPARTNER")[-1]["text"]
    assert "this Slack bot's rule, not Exalate's" in to_partner
    assert "stopped reminding you" in to_partner and "no longer works" not in to_partner
    to_admin = dms(slack, "UADMIN")[-1]["text"]
    assert "still Pending, and its code still works there" in to_admin
