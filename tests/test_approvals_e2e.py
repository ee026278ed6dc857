"""Four eyes over HTTP (EXALATE_APPROVERS): Initiate asks the approvers and sends no code;
Approve sends the invitation as Initiate would have, its notice naming the approver; Reject
asks a reason and tells the admin who asked, the partner getting nothing; whoever asked can't
approve their own; two approvers clicking at once: one wins; unanswered for APPROVAL_TTL, the
request expires; a non-approver is refused; the admin's Home shows what awaits approval."""

from __future__ import annotations

import asyncio
import copy
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.devtools.waiting import eventually
from bot.permissions import Permissions
from storage.models import Approval, AuditEvent, Connection, Invitation
from tests.harness import WIZARD, Admin, World, db_rows, open_home, text_of

APPROVERS = ("UAPPROVER", "UAPP2")  # UAPP2 and UADMIN by the group


@pytest.fixture
def bot_settings(slack: Any) -> dict[str, Any]:
    slack.add_user("UAPPROVER", name="april")
    slack.add_user("UAPP2", name="amos")
    slack.add_usergroup("S0APPROVERS", ["UAPP2", "UADMIN"])
    return {"exalate_approvers": "UAPPROVER,S0APPROVERS"}


async def ask(world: World) -> str:
    """The admin walks the wizard and asks for approval; the last view's text."""
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD[:-1])
    review = json.dumps(world.slack.views[view_id])
    assert "Ask for approval" in review and "four eyes" in review
    await admin.walk(view_id, {})
    await eventually(lambda: all(world.dms(a) for a in APPROVERS))
    return json.dumps(world.slack.views[view_id])


def request_of(world: World, approver: str) -> dict[str, Any]:
    [dm] = [m for m in world.dms(approver) if "asks to invite" in m["text"]]
    return dm


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def answered(world: World, count: int) -> list[str]:
    await eventually(lambda: len(world.slack.responses) >= count)
    return world.said()


async def edited_requests(world: World) -> list[str]:
    """The approvers' request DMs as edited (chat.update), once both are."""
    ims = {world.slack._ims.get(a) for a in APPROVERS}

    def edits() -> list[str]:
        calls = world.slack.calls_to("chat.update")
        return [c.params["text"] for c in calls if c.params.get("channel") in ims]

    await eventually(lambda: len(edits()) >= len(APPROVERS))
    return edits()


async def test_initiate_asks_the_approvers_and_sends_no_code(world: World) -> None:
    shown = await ask(world)
    assert "awaiting approval" in shown and "EXA1-" not in shown
    assert "Sent for approval to <@UAPPROVER>, <@UAPP2>" in shown
    assert world.dms("UADMIN") == [] and world.dms("UPARTNER") == []  # no self-approval DM
    request = request_of(world, "UAPPROVER")
    assert "<@UADMIN> asks to invite <@UPARTNER>" in request["text"]
    assert buttons(request) == ["Approve", "Reject"]
    assert "acme_to_partnerco" in json.dumps(request["blocks"])
    [connection] = await db_rows(world.bot, Connection)
    assert connection.status == "APPROVAL" and connection.backend_id is None
    assert await db_rows(world.bot, Invitation) == []
    await eventually(lambda: len(world.thread()) == 1)
    assert "asked <@UAPPROVER>, <@UAPP2> to approve" in world.thread()[0]["text"]
    assert "Awaiting approval" in world.card()["text"]
    home = text_of(await open_home(world, "UADMIN"))
    assert "Awaiting approval" in home and "asked by <@UADMIN>" in home


async def test_approve_sends_the_invitation_naming_the_approver(world: World) -> None:
    await ask(world)
    await world.click("approval_approve", request_of(world, "UAPPROVER"), "UAPPROVER")
    assert (await answered(world, 1))[-1].startswith(":white_check_mark: Approved")
    await eventually(lambda: len(world.dms("UPARTNER")) == 1)
    assert "EXA1-" in json.dumps(world.dms("UPARTNER")[0])
    await eventually(lambda: any("approved by" in n["text"] for n in world.thread()))
    [sent] = [n for n in world.thread() if "Invitation sent" in n["text"]]
    assert sent["text"] == (
        ":incoming_envelope: Invitation sent to <@UPARTNER> for `acme_to_partnerco` by "
        "<@UADMIN>, approved by <@UAPPROVER>."
    )
    await eventually(lambda: any("approved" in dm["text"] for dm in world.dms("UADMIN")))
    edits = await edited_requests(world)
    approved = ":white_check_mark: <@UAPPROVER> approved `acme_to_partnerco`: the invitation"
    assert edits == [f"{approved} went to the partner."] * 2
    assert await world.state() == ("PENDING", "PENDING")
    audit = await db_rows(world.bot, AuditEvent)
    actions = [(a.action, a.actor) for a in audit if not a.action.endswith("_sent")]
    assert actions[:2] == [("approval_requested", "UADMIN"), ("approved", "UAPPROVER")]


async def test_reject_asks_a_reason_and_tells_the_admin(world: World) -> None:
    await ask(world)
    old_request = copy.deepcopy(request_of(world, "UAPPROVER"))  # a stale button, clicked
    await world.click("approval_reject", request_of(world, "UAPP2"), "UAPP2")
    view_id = world.slack.calls_to("views.open")[-1].response["view"]["id"]
    empty = await world.sender.submit_view(view_id, {"reason": "  "}, user_id="UAPP2")
    assert (empty.json or {})["errors"] == {
        "reason": "Say briefly why, so the admin who asked knows what to change."
    }
    done = await world.sender.submit_view(view_id, {"reason": "Wrong project"}, user_id="UAPP2")
    assert (done.json or {})["response_action"] == "update"
    await eventually(lambda: any("rejected" in dm["text"] for dm in world.dms("UADMIN")))
    [told] = [dm for dm in world.dms("UADMIN") if "rejected" in dm["text"]]
    assert "<@UAPP2> rejected `acme_to_partnerco`: “Wrong project”" in told["text"]
    edits = await edited_requests(world)
    assert all("<@UAPP2> rejected `acme_to_partnerco`: “Wrong project”." in e for e in edits)
    assert world.dms("UPARTNER") == [] and await db_rows(world.bot, Invitation) == []
    [connection] = await db_rows(world.bot, Connection)
    assert connection.status == "REJECTED"
    [rejected] = [a for a in await db_rows(world.bot, AuditEvent) if a.action == "rejected"]
    assert (rejected.actor, rejected.detail) == ("UAPP2", "Wrong project")
    await world.click("approval_approve", old_request, "UAPPROVER")
    assert (await answered(world, 1))[-1] == (
        "Already rejected by <@UAPP2>: the first decision stands."
    )


async def test_self_approval_and_a_non_approver_are_refused(world: World) -> None:
    await ask(world)
    request = request_of(world, "UAPPROVER")
    await world.click("approval_approve", request, "UADMIN")  # in the group, but asked
    assert (await answered(world, 1))[-1].startswith(":no_entry: You asked for this one")
    await world.click("approval_reject", request, "UOTHER")
    assert (await answered(world, 2))[-1] == (
        ":lock: Only the approvers can decide this: <@UAPPROVER>, <!subteam^S0APPROVERS>."
    )
    [approval] = await db_rows(world.bot, Approval)
    assert approval.state == "PENDING" and await db_rows(world.bot, Invitation) == []


async def test_two_approvers_at_once_one_wins(world: World) -> None:
    await ask(world)
    first, second = request_of(world, "UAPPROVER"), request_of(world, "UAPP2")
    await asyncio.gather(
        world.click("approval_approve", first, "UAPPROVER"),
        world.click("approval_approve", second, "UAPP2"),
    )
    said = await answered(world, 2)
    won = [s for s in said if s.startswith(":white_check_mark: Approved")]
    lost = [s for s in said if s.startswith("Already approved by <@UAPP")]
    assert (len(won), len(lost)) == (1, 1), said
    assert len(await db_rows(world.bot, Invitation)) == 1
    await eventually(lambda: len(world.dms("UPARTNER")) == 1)
    [approval] = await db_rows(world.bot, Approval)
    assert approval.state == "APPROVED" and approval.decided_by in APPROVERS
    assert sum(a.action == "approved" for a in await db_rows(world.bot, AuditEvent)) == 1


async def test_unanswered_the_request_expires(world: World) -> None:
    await ask(world)
    old_request = copy.deepcopy(request_of(world, "UAPPROVER"))
    await world.sweep(world.clock.now() + timedelta(days=3, minutes=1))
    [connection] = await db_rows(world.bot, Connection)
    assert connection.status == "EXPIRED"
    await eventually(lambda: any("expired" in dm["text"] for dm in world.dms("UADMIN")))
    [told] = [dm for dm in world.dms("UADMIN") if "expired" in dm["text"]]
    assert "No approver decided on `acme_to_partnerco` within 3 days" in told["text"]
    edits = await edited_requests(world)
    assert all("expired unanswered" in e for e in edits)
    await eventually(lambda: "expired, nothing was sent" in world.thread()[-1]["text"])
    await world.click("approval_approve", old_request, "UAPPROVER")
    assert "expired unanswered" in (await answered(world, 1))[-1]
    assert world.dms("UPARTNER") == [] and await db_rows(world.bot, Invitation) == []
    audit = await db_rows(world.bot, AuditEvent)
    assert [a.action for a in audit if not a.action.endswith("_sent")][-1] == "approval_expired"


async def test_no_one_but_the_asker_to_approve_is_said_at_the_review(world: World) -> None:
    world.bot.services.__dict__["approvers"] = Permissions(["UADMIN"])  # only themselves
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD)
    shown = json.dumps(world.slack.views[view_id])
    assert "No one else can approve this" in shown and admin.step(view_id) == "review"
    assert await db_rows(world.bot, Connection) == []
