"""Visual and Basic as Exalate's console runs them, end to end over HTTP on the embedded node:
Visual never makes a code; Basic asks about admin access to the destination (yes: no code,
no partner; no: the code and the DM, as before); what comes next after acceptance, in the
thread and to each side; the wording the docs call for (Basic's fixed rules, the private side
accepts, expiry is this bot's rule)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.backend.local import NO_CODE, LocalNode
from bot.home.views import Row, build_home_view
from bot.invitations import next_steps as ns
from storage.models import AuditEvent, Connection, Invitation, LocalNodeConnection
from tests.harness import Admin, World, at, db_rows, eventually
from tests.specs import check_message, check_view

URL = {"destination": "public", "destination_url": "https://partnerco.atlassian.net"}
PROJECT = {"project_key": "SUP"}
NOTICES = {"notice_channel": "CNOTICE"}
VISUAL = (URL, {"mode": "visual"}, {"remote_short_name": "partnerco"}, PROJECT, NOTICES)
PARTNER = {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"}
FINISHED = "admin_accepted_on_destination"


def inputs(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def no_code_anywhere(world: World) -> None:
    """No invitation code in anything the bot sent Slack, and no DM opened with the partner."""
    assert "EXA1-" not in json.dumps([c.params for c in world.slack.calls])
    opened = [c.params.get("users") for c in world.slack.calls_to("conversations.open")]
    assert "UPARTNER" not in opened and world.dms("UPARTNER") == []


def blocks_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks") or [])


async def test_visual_never_makes_a_code_and_the_admin_finishes_it(world: World) -> None:
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *VISUAL[:4])
    assert admin.step(view_id) == "notices"  # no partner: only the channel
    view = world.slack.views[view_id]
    assert inputs(view) == ["notice_channel"] and "Step 5 of 6" in json.dumps(view)
    await admin.walk(view_id, NOTICES)
    review = world.slack.views[view_id]
    assert "you accept it on the destination yourself (no invitation code)" in json.dumps(review)
    assert review["submit"]["text"] == "Create"

    body = await admin.submit(view_id, {})
    assert body["response_action"] == "update"
    result = world.slack.views[view_id]
    assert result["title"]["text"] == "Connection created"
    assert "I accepted it on the destination" in json.dumps(result)
    [dm] = await eventually(lambda: world.dms("UADMIN"))
    assert "with no invitation code" in dm["text"] and FINISHED in blocks_of(dm)
    [created] = await eventually(lambda: world.thread())
    assert "created by <@UADMIN> in Visual mode, with no invitation code" in created["text"]

    [connection] = await db_rows(world.bot, Connection)
    assert (connection.status, connection.mode, connection.partner_user_id) == (
        "PENDING",
        "visual",
        "",
    )
    assert await db_rows(world.bot, Invitation) == []
    [record] = await db_rows(world.bot, LocalNodeConnection)
    assert (record.code_hash, record.code_state, record.status) == (None, NO_CODE, "PENDING")
    no_code_anywhere(world)

    # nothing waits for a partner: no reminders, no expiry, no code to resend
    for day in (3, 10, 20):
        report = await world.sweep(at(day, 14))
        assert (report.reminded, report.expired, report.escalated) == (0, 0, 0)
    assert world.sender is not None
    await world.sender.command("resend acme_to_partnerco", user_id="UADMIN")
    said = await eventually(lambda: [t for t in world.said() if "resend" in t])
    assert "has no invitation code to resend" in said[-1]

    await world.click(FINISHED, dm, "UOTHER")  # not an admin
    assert "Only Exalate admins can finish connections" in world.said()[-1]
    await world.click(FINISHED, dm, "UADMIN")
    assert "now *Active*" in world.said()[-1]
    [connection] = await db_rows(world.bot, Connection)
    assert connection.status == "ACTIVE"
    thread = await eventually(lambda: world.thread()[2:] and world.thread())
    assert "is active: accepted on the destination after 18 days" in thread[1]["text"]
    assert "Visual mode's editor" in blocks_of(thread[2])
    admin_dms = await eventually(lambda: world.dms("UADMIN")[2:] and world.dms("UADMIN"))
    assert thread[1]["text"] == admin_dms[1]["text"]
    assert admin_dms[2]["text"] == "What comes next for acme_to_partnerco"
    no_code_anywhere(world)

    await world.click(FINISHED, dm, "UADMIN")  # once
    assert "already active" in world.said()[-1]
    assert len(world.thread()) == 3
    audit = [(a.action, a.actor, a.to_state) for a in await db_rows(world.bot, AuditEvent)]
    assert ("initiated", "UADMIN", "PENDING") in audit
    assert ("accepted", "UADMIN", "ACTIVE") in audit


async def test_basic_with_admin_access_sends_no_code_and_follows_the_status(
    world: World,
) -> None:
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, URL, {"mode": "basic"}, PROJECT)
    assert admin.step(view_id) == "access"
    view = world.slack.views[view_id]
    assert inputs(view) == ["admin_access"]
    assert "Do you have admin access to the destination instance?" in json.dumps(view)
    errors = await admin.errors(view_id, {})  # inline, like every step
    assert "admin access" in errors["admin_access"]
    await admin.walk(view_id, {"admin_access": "yes"})
    assert admin.step(view_id) == "notices"
    await admin.walk(view_id, NOTICES)
    review = json.dumps(world.slack.views[view_id])
    assert "Admin access to the destination*\\nYes" in review
    assert "acme_to_partnerco" in review  # Basic derives the names from the URL
    assert await admin.back(view_id) == "notices"
    assert await admin.back(view_id) == "access"
    assert world.slack.views[view_id]["blocks"][1]["element"]["initial_option"]["value"] == "yes"
    await admin.walk(view_id, {}, {}, {})
    assert world.slack.views[view_id]["title"]["text"] == "Connection created"
    await eventually(lambda: world.dms("UADMIN") and world.thread())
    assert await db_rows(world.bot, Invitation) == []
    no_code_anywhere(world)

    # the bot follows the connection's status: the node reports it Active
    [connection] = await db_rows(world.bot, Connection)
    node = world.bot.services.backend
    assert isinstance(node, LocalNode)
    assert await world.invitations.poll_status() == 0  # still Pending
    world.clock.set(at(3, 10))
    await node.set_status(connection.backend_id or "", "ACTIVE")
    assert await world.invitations.poll_status() == 1
    await world.sweep()
    active, next_steps = world.thread()[-2:]
    assert "is active: accepted on the destination after 1 day" in active["text"]
    basic = blocks_of(next_steps)
    assert (
        "Basic mode's are fixed" in basic and "upgrade the connection to Visual or Script" in basic
    )
    for step in ("*A trigger*", "*A first issue*", "*Errors* tab"):
        assert step in basic
    assert world.dms("UADMIN")[-1]["text"] == "What comes next for acme_to_partnerco"
    no_code_anywhere(world)


async def test_basic_without_admin_access_sends_the_partner_the_code(world: World) -> None:
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, URL, {"mode": "basic"}, PROJECT, {"admin_access": "no"})
    assert admin.step(view_id) == "partner"
    await admin.walk(view_id, PARTNER)
    assert "Admin access to the destination*\\nNo" in json.dumps(world.slack.views[view_id])
    await admin.walk(view_id, {})
    await eventually(lambda: "Sent to" in json.dumps(world.slack.views[view_id]))
    [dm] = world.dms("UPARTNER")
    text = blocks_of(dm)
    assert "```EXA1-" in text and "Mode*\\nBasic" in text
    assert "the reminders and the expiry are this Slack bot's rule, not Exalate's" in text
    assert "private side" not in text  # the destination has a URL
    [invitation] = await db_rows(world.bot, Invitation)
    assert invitation.state == "PENDING"

    # the partner accepts: what comes next, in the thread and to both sides
    code = text[text.index("EXA1-") : text.index("EXA1-") + 48]
    world.clock.set(at(3, 15))
    await world.click("partner_accept", dm, "UPARTNER")
    assert (await world.accept_modal("UPARTNER", code))["response_action"] == "update"
    partner = await eventually(lambda: world.dms("UPARTNER")[1:])
    [admin_next] = await eventually(lambda: world.dms("UADMIN")[1:])
    thread_next = world.thread()[-1]
    assert partner[0]["text"] == admin_next["text"] == thread_next["text"]
    for message in (partner[0], admin_next, thread_next):
        assert "Basic mode's are fixed" in blocks_of(message)
    assert "your own Exalate console" in blocks_of(partner[0])


async def test_basic_without_a_url_asks_nothing_and_the_private_side_accepts(
    world: World,
) -> None:
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, {"destination": "private"}, {"mode": "basic"}, PROJECT)
    assert admin.step(view_id) == "partner"  # no admin access question without a URL
    await admin.walk(view_id, PARTNER, {})
    [dm] = await eventually(lambda: world.dms("UPARTNER"))
    assert "the private side is the one that accepts the invitation" in blocks_of(dm)


@pytest.mark.parametrize("mode", ["basic", "visual", "script"])
@pytest.mark.parametrize("side", ["thread", "admin", "partner", "both"])
def test_next_steps_pass_slacks_checks(mode: str, side: ns.Side) -> None:
    for console in (None, "https://exalate.acme.example"):
        built = ns.build_next_steps(name="a_to_b", mode=mode, side=side, console_url=console)
        assert check_message({"channel": "C1", **built}) == []
        linked = "https://exalate.acme.example" in blocks_of(built)
        assert linked is (console is not None and side != "partner")
    for built in (
        ns.notice_created_without_code(name="a_to_b", by="<@U1>", mode=mode),
        ns.dm_finish_on_destination(name="a_to_b", connection_id=7, console_url=None, here=True),
        ns.dm_finish_on_destination(
            name="a_to_b", connection_id=7, console_url="https://n.x", here=False
        ),
        ns.active_without_code(name="a_to_b", after="2 days"),
    ):
        assert check_message({"channel": "C1", **built}) == []


def test_the_home_tab_offers_no_reminder_or_resend_without_a_code() -> None:
    now = at(3, 9)
    row = Row(
        id=4,
        name="acme_to_partnerco",
        status="PENDING",
        partner="<@UADMIN> on the destination",
        initiator="UADMIN",
        created_at=at(2, 9),
    )
    coded = Row(**{**row.__dict__, "id": 5, "invitation_id": 9, "reminders_sent": 1})
    view = build_home_view(
        now=now,
        is_admin=True,
        admins="",
        reminder_max=5,
        accept_here=True,
        in_flight=[row, coded],
    )
    assert check_view(view) == []
    blocks = json.dumps(view["blocks"])
    assert "no invitation code: accepted on the destination" in blocks
    assert blocks.count("admin_resend") == 1 and blocks.count("admin_cancel") == 2
    assert "Cancel connection" in blocks and "1 of 5 reminders" in blocks
