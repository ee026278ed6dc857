"""Until the partner accepts, end to end over HTTP with an injected clock: reminders in the
partner's hours, snooze, escalation, expiry and resend, decline, acceptance by button and by
`/exalate accept`, the status poll, and clicks by the wrong people."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.backend.local import LocalNode
from bot.clock import FakeClock
from bot.delivery.courier import Courier
from storage.models import AuditEvent, Connection, Invitation, Outbox, WizardDraft
from tests.harness import (
    MONDAY,
    SPILLING,
    WIZARD,
    Admin,
    World,
    at,
    db_rows,
    eventually,
    make_settings,
    start_bot,
)
from tests.slack_emulator import SlackEmulator


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"reminder_max": 2, "slack_timeout": "1s"}


async def test_cadence_in_the_partners_hours_then_escalation(world: World) -> None:
    await world.initiate()
    [invitation] = await db_rows(world.bot, Invitation)
    assert invitation.partner_tz == "America/New_York"
    # 24h after Monday 04:00 New York is Tuesday 04:00 there: moved to 09:00 (14:00 UTC)
    assert invitation.next_reminder_at == at(3, 14)

    assert (await world.sweep(at(3, 13, 59))).reminded == 0
    assert len(world.dms("UPARTNER")) == 1  # the invitation only

    report = await world.sweep(at(3, 14))
    # the reminder, its line in the thread, the card edited, the first DM's buttons gone
    assert (report.reminded, report.sent) == (1, 4)
    reminder = world.dms("UPARTNER")[-1]
    assert world.with_buttons("UPARTNER") == [reminder]
    assert "Reminder 1 of 2" in reminder["text"] and "1 day ago" in reminder["text"]
    assert "EXA1-" not in json.dumps(reminder)  # reminders don't repeat the code
    reminder_text = json.dumps(reminder["blocks"])
    assert "How to accept" in reminder_text
    assert "partner_accept" in reminder_text and "partner_decline" in reminder_text
    assert "Reminded <@UPARTNER> about `acme_to_partnerco` (1 of 2)" in world.thread()[-1]["text"]

    assert (await world.sweep(at(3, 14, 1))).reminded == 0  # claimed: not twice
    assert (await world.sweep(at(4, 14))).reminded == 1
    assert "Reminder 2 of 2" in world.dms("UPARTNER")[-1]["text"]

    report = await world.sweep(at(5, 14))
    assert (report.reminded, report.escalated) == (0, 1)
    [escalation] = world.dms("UADMIN")
    assert "hasn't accepted `acme_to_partnerco` after 2 reminders" in escalation["text"]
    buttons = json.dumps(escalation["blocks"])
    assert "admin_resend" in buttons and "admin_cancel" in buttons
    assert "No answer from <@UPARTNER> after 2 reminders" in world.thread()[-1]["text"]

    for day in (6, 9, 10):
        assert (await world.sweep(at(day, 15))).reminded == 0
    assert len(world.dms("UPARTNER")) == 3
    actions = [a.action for a in await db_rows(world.bot, AuditEvent)]
    assert actions.count("reminded") == 2 and actions.count("escalated") == 1


async def test_weekend_and_daylight_saving(world: World) -> None:
    world.clock.set(at(6, 12))  # Friday 07:00 in New York
    await world.initiate()
    [invitation] = await db_rows(world.bot, Invitation)
    # Saturday is the weekend; New York moved to summer time on Sunday: Monday 09:00 EDT
    assert invitation.next_reminder_at == at(9, 13)
    assert (await world.sweep(at(7, 14))).reminded == 0
    assert (await world.sweep(at(9, 13))).reminded == 1


async def test_no_working_hours_means_any_time(
    slack: SlackEmulator, tmp_path, clock: FakeClock
) -> None:
    settings = make_settings(
        slack, f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", reminder_hours="", reminder_interval="6h"
    )
    bot = await start_bot(slack, settings, clock=clock)
    try:
        world = World(bot, slack, clock)
        clock.set(at(7, 3))  # Friday 22:00 in New York
        await world.initiate()
        assert (await world.sweep(at(7, 9))).reminded == 1  # Saturday 04:00 there: any time
    finally:
        await bot.stop()


async def test_snooze_a_day_and_until_monday(world: World) -> None:
    await world.initiate()
    dm = world.dms("UPARTNER")[0]
    world.clock.set(at(4, 16))  # Wednesday 11:00 in New York
    await world.click("partner_snooze_day", dm, "UPARTNER")
    [invitation] = await db_rows(world.bot, Invitation)
    assert invitation.next_reminder_at == at(5, 16)
    assert "Snoozed" in world.said()[-1]

    await world.click("partner_snooze_monday", dm, "UPARTNER")
    [invitation] = await db_rows(world.bot, Invitation)
    assert invitation.next_reminder_at == at(9, 13)  # Monday 09:00 EDT
    assert (await world.sweep(at(6, 16))).reminded == 0
    assert (await world.sweep(at(9, 13))).reminded == 1
    actions = [a.action for a in await db_rows(world.bot, AuditEvent)]
    assert actions.count("snoozed") == 2


async def test_accept_by_button(world: World) -> None:
    code = await world.initiate()
    await world.sweep(at(3, 14))
    world.clock.set(at(4, 15))
    assert "partner_accept" not in json.dumps(world.dms("UPARTNER")[0]["blocks"])
    await world.click("partner_accept", world.with_buttons("UPARTNER")[-1], "UPARTNER")
    opened = world.slack.calls_to("views.open")[-1].response["view"]
    assert opened["callback_id"] == "exalate_accept"
    body = await world.accept_modal("UPARTNER", code, project="PARTNER-SUP")
    assert body["response_action"] == "update"
    assert await world.state() == ("ACTIVE", "REDEEMED")
    [connection] = await db_rows(world.bot, Connection)
    assert connection.partner_project == "PARTNER-SUP"
    await eventually(lambda: "What comes next" in world.thread()[-1]["text"])
    active, next_steps = world.thread()[-2:]  # the notice, then what comes next (Script)
    assert active["text"] == (
        ":white_check_mark: `acme_to_partnerco` is active, accepted by <@UPARTNER> after 2 days."
    )
    assert "each side edits its own" in json.dumps(next_steps["blocks"])
    admin_dm, admin_next = await eventually(lambda: world.dms("UADMIN")[1:] and world.dms("UADMIN"))
    assert "is active" in admin_dm["text"] and "PARTNER-SUP" in admin_dm["text"]
    assert "edit this side's" in json.dumps(admin_next["blocks"])
    partner_next = await eventually(
        lambda: [dm for dm in world.dms("UPARTNER") if "What comes next" in dm["text"]]
    )
    assert "edit your side's" in json.dumps(partner_next[0]["blocks"])
    assert (await world.sweep(at(5, 14))).reminded == 0  # reminders stopped
    audit = await db_rows(world.bot, AuditEvent)
    assert [(a.action, a.actor, a.from_state, a.to_state) for a in audit if a.to_state][-1] == (
        "accepted",
        "UPARTNER",
        "PENDING",
        "ACTIVE",
    )


async def test_accept_by_command_with_each_wrong_code(world: World) -> None:
    code = await world.initiate()
    wrong = await world.accept_by_command("UPARTNER", "EXA1-not-the-right-code")
    assert "doesn't match" in wrong["errors"]["code"]
    someone_else = await world.accept_by_command("UOTHER", code)
    assert "issued to someone else" in someone_else["errors"]["code"]
    assert await world.state() == ("PENDING", "PENDING")

    body = await world.accept_by_command("UPARTNER", f"  {code}\n")  # pasted with whitespace
    assert body["response_action"] == "update"
    assert await world.state() == ("ACTIVE", "REDEEMED")
    again = await world.accept_by_command("UPARTNER", code)
    assert "already used" in again["errors"]["code"]


async def test_expiry_then_resend_with_a_fresh_code(world: World) -> None:
    old_code = await world.initiate()
    report = await world.sweep(MONDAY + timedelta(days=14))
    assert report.expired == 1
    assert await world.state() == ("EXPIRED", "EXPIRED")
    assert "expired after 14 days" in world.dms("UPARTNER")[-1]["text"]
    [admin_dm] = world.dms("UADMIN")
    assert "admin_resend" in json.dumps(admin_dm["blocks"])
    assert "admin_cancel" not in json.dumps(admin_dm["blocks"])
    assert "expired after 14 days" in world.thread()[-1]["text"]
    expired = await world.accept_by_command("UPARTNER", old_code)
    assert "expired" in expired["errors"]["code"]
    assert (await world.sweep(MONDAY + timedelta(days=15))).reminded == 0

    await world.click("admin_resend", admin_dm, "UADMIN")
    await eventually(lambda: "EXA1-" in json.dumps(world.dms("UPARTNER")[-1]))
    new_dm = json.dumps(world.dms("UPARTNER")[-1])
    new_code = new_dm[new_dm.index("EXA1-") : new_dm.index("EXA1-") + 48]
    assert new_code != old_code
    await eventually(lambda: "re-sent to <@UPARTNER>" in world.thread()[-1]["text"])
    assert "EXA1-" not in json.dumps(world.thread())
    assert await world.state() == ("PENDING", "PENDING")
    still_expired = await world.accept_by_command("UPARTNER", old_code)
    assert "expired" in still_expired["errors"]["code"]
    assert (await world.accept_by_command("UPARTNER", new_code))["response_action"] == "update"
    assert await world.state() == ("ACTIVE", "REDEEMED")


async def test_decline_with_a_reason(world: World) -> None:
    code = await world.initiate()
    await world.click("partner_decline", world.dms("UPARTNER")[0], "UPARTNER")
    view = world.slack.calls_to("views.open")[-1].response["view"]
    assert view["callback_id"] == "exalate_decline"
    reason = "We use another tool <!channel> *really*"
    response = await world.sender.submit_view(view["id"], {"reason": reason}, user_id="UPARTNER")
    assert response.json["response_action"] == "update"
    assert await world.state() == ("DECLINED", "REVOKED")
    await eventually(lambda: world.dms("UADMIN"))
    admin_dm = world.dms("UADMIN")[0]
    assert "declined the invitation to `acme_to_partnerco`" in admin_dm["text"]
    assert "&lt;!channel&gt;" in admin_dm["text"] and "<!channel>" not in admin_dm["text"]
    await eventually(lambda: "declined" in world.thread()[-1]["text"])
    assert world.thread()[-1]["text"] == ":no_entry: <@UPARTNER> declined `acme_to_partnerco`."
    assert (await world.sweep(at(3, 14))).reminded == 0
    refused = await world.accept_by_command("UPARTNER", code)
    assert "withdrawn" in refused["errors"]["code"]
    [declined] = [a for a in await db_rows(world.bot, AuditEvent) if a.action == "declined"]
    assert (declined.actor, declined.detail) == ("UPARTNER", reason)


async def test_clicks_by_anyone_but_the_partner_change_nothing(world: World) -> None:
    await world.initiate()
    dm = world.dms("UPARTNER")[0]
    opened = len(world.slack.calls_to("views.open"))
    for action in (
        "partner_accept",
        "partner_snooze_day",
        "partner_snooze_monday",
        "partner_decline",
    ):
        await world.click(action, dm, "UOTHER")
        assert "only they can answer it" in world.said()[-1]
    assert len(world.slack.calls_to("views.open")) == opened
    [invitation] = await db_rows(world.bot, Invitation)
    assert invitation.next_reminder_at == at(3, 14)
    assert await world.state() == ("PENDING", "PENDING")
    assert not any(a.action == "snoozed" for a in await db_rows(world.bot, AuditEvent))


async def test_a_forged_value_naming_another_invitation_is_refused(world: World) -> None:
    await world.initiate()
    world.slack.add_user("UPARTNER2", name="pam", email="pam@other.example")
    other = {"partner_user_id": "UPARTNER2", "notice_channel": "CNOTICE"}
    await world.initiate(*WIZARD[:2], {"remote_short_name": "otherco"}, WIZARD[3], other, {})
    _, second = await db_rows(world.bot, Invitation)
    dm = world.dms("UPARTNER")[0]
    await world.click("partner_snooze_day", dm, "UPARTNER", value=str(second.id))
    assert "only they can answer it" in world.said()[-1]
    _, after = await db_rows(world.bot, Invitation)
    assert after.next_reminder_at == second.next_reminder_at


async def test_admin_buttons_are_for_admins(world: World) -> None:
    await world.initiate()
    for day in (3, 4, 5):
        await world.sweep(at(day, 14))
    [escalation] = world.dms("UADMIN")
    await world.click("admin_cancel", escalation, "UOTHER")
    assert "Only Exalate admins" in world.said()[-1]
    assert await world.state() == ("PENDING", "PENDING")

    await world.click("admin_cancel", escalation, "UADMIN")
    await eventually(lambda: "withdrew" in world.dms("UPARTNER")[-1]["text"])
    assert await world.state() == ("CANCELLED", "REVOKED")
    assert "cancelled the invitation" in world.thread()[-1]["text"]


async def test_the_status_poll_reports_active_then_deactivated(world: World) -> None:
    await world.initiate()
    [connection] = await db_rows(world.bot, Connection)
    node = world.bot.services.backend
    assert isinstance(node, LocalNode)
    assert await world.invitations.poll_status() == 0
    world.clock.set(at(5, 10))
    await node.set_status(connection.backend_id or "", "ACTIVE")
    assert await world.invitations.poll_status() == 1
    await world.sweep()
    active, next_steps = world.thread()[-2:]
    assert "is active, accepted by <@UPARTNER> after 3 days" in active["text"]
    assert next_steps["text"] == "What comes next for acme_to_partnerco"
    assert await world.state() == ("ACTIVE", "REDEEMED")
    await node.set_status(connection.backend_id or "", "DEACTIVATED")
    assert await world.invitations.poll_status() == 1
    assert await world.invitations.poll_status() == 0
    await world.sweep()
    assert "was deactivated on the node" in world.thread()[-1]["text"]


async def test_seed_path_runs_to_the_end(world: World) -> None:
    """Wizard, DM, two reminders, acceptance, the notice in the thread."""
    code = await world.initiate()
    await world.sweep(at(3, 14))
    await world.sweep(at(4, 14))
    reminders = [m for m in world.dms("UPARTNER") if "Reminder" in m["text"]]
    assert len(reminders) == 2
    world.clock.set(at(4, 15))
    await world.click("partner_accept", reminders[-1], "UPARTNER")
    assert (await world.accept_modal("UPARTNER", code))["response_action"] == "update"
    await eventually(lambda: "What comes next" in world.thread()[-1]["text"])
    texts = [n["text"] for n in world.thread()]
    assert texts[0].startswith(":incoming_envelope: Invitation sent to <@UPARTNER>")
    assert "Active" in world.card()["text"] and code not in json.dumps(world.card())
    assert ["(1 of 2)" in texts[1], "(2 of 2)" in texts[2]] == [True, True]
    assert "accepted by <@UPARTNER> after 2 days" in texts[3]
    assert texts[4] == "What comes next for acme_to_partnerco"
    assert code not in json.dumps(world.thread())


@pytest.mark.parametrize(
    ("fault", "retry_after", "paused"),
    [
        # a 429 pauses the workspace: the notice after the reminder waits for Retry-After too
        ({"status": 429, "retry_after": 30}, 30, True),
        ({"status": 503}, 5, False),
        ({"error": "ratelimited"}, 5, False),
        ({"status": 503, "delay": 1.5}, 5, False),  # Slack too slow: the client times out (1s)
    ],
)
async def test_slack_errors_leave_the_reminder_due_neither_lost_nor_doubled(
    world: World, fault: dict[str, Any], retry_after: int, paused: bool
) -> None:
    await world.initiate()
    world.slack.fail_next("chat.postMessage", **fault)
    report = await world.sweep(at(3, 14))
    waiting = 2 if paused else 1  # else the notice went out
    # before the reminder (a connection's messages go in order): the first DM's buttons
    # gone and the card edited, both chat.update
    assert (report.reminded, report.sent, report.failed) == (1, 4 - waiting, waiting)
    assert len(world.dms("UPARTNER")) == 1
    pending = [o for o in await db_rows(world.bot, Outbox) if o.sent_at is None]
    assert [o.purpose for o in pending] == ["reminder", "notice"][:waiting]
    due = at(3, 14) + timedelta(seconds=retry_after)
    assert all(o.not_before == due for o in pending)
    assert (await world.sweep(at(3, 14) + timedelta(seconds=retry_after - 1))).sent == 0
    assert (await world.sweep(due)).sent == waiting
    assert (await world.sweep(at(3, 15))).sent == 0
    assert ["Reminder 1 of 2" in m["text"] for m in world.dms("UPARTNER")] == [False, True]


async def test_a_crash_between_claim_and_send_sends_once_after_the_lease(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world.initiate()
    real_send = Courier._send

    async def die(self: Courier, row: Outbox, windows: Any) -> Any:
        raise asyncio.CancelledError  # the process is gone before it could post

    monkeypatch.setattr(Courier, "_send", die)
    with pytest.raises(asyncio.CancelledError):
        await world.sweep(at(3, 14))
    monkeypatch.setattr(Courier, "_send", real_send)
    assert len(world.dms("UPARTNER")) == 1
    assert (await world.sweep(at(3, 14, 1))).sent == 0  # still leased by the dead process
    # the reminder and its notice, the card and the first DM edited
    assert (await world.sweep(at(3, 14, 2))).sent == 4
    assert (await world.sweep(at(3, 14, 5))).sent == 0
    assert sum("Reminder 1" in m["text"] for m in world.dms("UPARTNER")) == 1


async def test_the_scheduler_polls_and_sweeps_on_its_own(
    slack: SlackEmulator, tmp_path, clock: FakeClock
) -> None:
    """No hand-driven sweeps here: the app's own APScheduler runs both jobs."""
    settings = make_settings(
        slack,
        f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
        sweep_interval="1s",
        status_poll_interval="1s",
    )
    bot = await start_bot(slack, settings, clock=clock)
    try:
        world = World(bot, slack, clock)
        await world.initiate()
        [connection] = await db_rows(bot, Connection)
        clock.set(at(3, 14))  # the first reminder is due
        await eventually(lambda: any("Reminder 1" in m["text"] for m in world.dms("UPARTNER")))
        assert isinstance(bot.services.backend, LocalNode)
        await bot.services.backend.set_status(connection.backend_id or "", "ACTIVE")
        await eventually(
            lambda: any("is active" in n["text"] for n in world.thread()[-2:]), within=5
        )
    finally:
        await bot.stop()


async def test_a_wizard_left_for_a_day_is_forgotten_by_the_sweep(world: World) -> None:
    """Answers too long for the view wait in the draft table; a day untouched, the sweep
    drops them, and that modal (still open in Slack) says so."""
    admin = Admin(world.bot, world.slack)
    old = await admin.connect()
    await admin.walk(old, *SPILLING)
    world.clock.advance(timedelta(hours=23))
    fresh = await admin.connect()
    await admin.walk(fresh, *SPILLING)
    await world.sweep()
    assert len(await db_rows(world.bot, WizardDraft)) == 2  # not a day old yet
    world.clock.advance(timedelta(hours=2))
    await world.sweep()
    [kept] = await db_rows(world.bot, WizardDraft)
    assert kept.view_key == world.slack.views[fresh]["external_id"]
    body = await admin.submit(old, WIZARD[3])  # the old modal, still open in Slack
    assert body["response_action"] == "update"
    assert "no longer open" in json.dumps(body["view"])
    await admin.walk(fresh, WIZARD[3])  # the other one carries on
    assert admin.step(fresh) == "partner"
