"""Partners outside Slack, end to end: the wizard over HTTP, the bot's e-mail to a real SMTP
server (aiosmtpd, started here), the sweep on the tests' clock. The invitation and two
reminders by e-mail, in the partner's hours, then escalation in Slack; the code in no channel
and no log line; resend's fresh code and cancel's note by e-mail; a hostile name or note
injecting no header; a 550 told to the admin; an address Slack knows nobody for taking the
e-mail route by itself; and the e-mailed partner accepting with `/exalate accept` once they
turn up in Slack."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.devtools.waiting import eventually
from bot.permissions import Permissions
from storage.models import AuditEvent, Invitation
from tests.harness import Admin, RunningBot, World, db_rows
from tests.mail_server import Inbox, MailServer
from tests.slack_emulator import SlackEmulator

PAT = "pat@globex.com"
TOKYO = ZoneInfo("Asia/Tokyo")


def by_email(**partner: Any) -> tuple[dict[str, Any], ...]:
    """The wizard's pages for an invitation by e-mail to Pat (`partner`: the partner step's
    values instead)."""
    return (
        {"destination": "private"},
        {"mode": "script"},
        {"remote_short_name": "globex"},
        {"project_key": "SUP"},
        partner
        or {
            "partner_email": PAT,
            "partner_how": "email",
            "partner_zone": "Asia/Tokyo",
            "notice_channel": "CNOTICE",
            "note": "Looking forward to syncing with you.",
        },
    )


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def server(inbox: Inbox) -> Iterator[MailServer]:
    running = MailServer(inbox).start()
    yield running
    running.stop()


@pytest.fixture
def bot_settings(server: MailServer, slack: SlackEmulator) -> dict[str, Any]:
    slack.add_user("UADMIN", name="ada", real_name="Ada Admin", email="ada@acme.com", is_admin=True)
    return {
        "smtp_url": f"smtp://127.0.0.1:{server.port}",
        "smtp_from": "exalate@acme.com",
        "reminder_max": 2,
    }


async def initiate(world: World, *pages: dict[str, Any]) -> tuple[str, str, str]:
    """Walk the wizard; (the review's text, the result view's text, the code it shows)."""
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *pages)
    review = json.dumps(world.slack.views[view_id])
    await admin.walk(view_id, {})
    await eventually(lambda: "E-mailed to" in json.dumps(world.slack.views[view_id]))
    result = json.dumps(world.slack.views[view_id])
    return review, result, result[result.index("EXA1-") : result.index("EXA1-") + 48]


def text_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None
    return body.get_content()


def html_of(mail: EmailMessage) -> str:
    body = mail.get_body(preferencelist=("html",))
    assert body is not None
    return body.get_content()


async def arrived(inbox: Inbox, count: int) -> list[EmailMessage]:
    await eventually(lambda: len(inbox.messages) >= count)
    return list(inbox.messages)


async def pending(bot: RunningBot) -> Invitation:
    [invitation] = [i for i in await db_rows(bot, Invitation) if i.state == "PENDING"]
    return invitation


def everything_said_in_slack(slack: SlackEmulator) -> str:
    """Every message and edit the bot sent to a Slack channel or DM (not the admin's modal,
    where the code is shown on purpose)."""
    methods = ("chat.postMessage", "chat.update", "chat.postEphemeral")
    said = json.dumps([call.params for m in methods for call in slack.calls_to(m)])
    assert "acme_to_globex" in said  # the card and the notices are in it
    return said


async def test_the_invitation_and_two_reminders_by_e_mail_then_escalation_in_slack(
    world: World, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    review, result, code = await initiate(world, *by_email())
    assert f"{PAT}, by e-mail (reminders in Asia/Tokyo time)" in review
    assert f"E-mailed to {PAT}" in result
    [mail] = await arrived(inbox, 1)
    assert mail["To"] == PAT and parseaddr(mail["From"]) == ("Exalate bot", "exalate@acme.com")
    assert parseaddr(mail["Reply-To"]) == ("Ada Admin", "ada@acme.com")
    assert mail["Message-ID"] and mail["Date"]
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == "Ada Admin invites you to the Exalate connection acme_to_globex"
    plain = text_of(mail)
    assert code in plain and code in html_of(mail)
    assert "From instance acme to instance globex." in plain
    assert "Looking forward to syncing with you." in plain
    assert "/exalate accept" in plain  # the embedded node says what it can and can't do
    expires = (world.clock.now() + timedelta(days=14)).astimezone(TOKYO)
    assert f"{expires:%A %d %B %Y at %H:%M} (Asia/Tokyo)" in plain
    await eventually(lambda: len(world.thread()) == 1)
    assert f"Invitation sent to {PAT} by e-mail" in world.thread()[0]["text"]
    assert world.dms("UADMIN") == []  # no code to pass on by hand: it went by e-mail

    for number in (1, 2):  # each reminder when it is due, in Pat's hours in Tokyo
        due = (await pending(world.bot)).next_reminder_at
        assert due is not None and 9 <= due.astimezone(TOKYO).hour < 18
        await world.sweep(due)
        mails = await arrived(inbox, 1 + number)
        reminder = mails[number]
        assert reminder["Subject"].startswith("Reminder: the Exalate connection acme_to_globex")
        assert f"Reminder {number} of 2" in text_of(reminder) and code not in text_of(reminder)
        await eventually(lambda n=number: f"Reminded {PAT} by e-mail" in world.thread()[-1]["text"])
    due = (await pending(world.bot)).next_reminder_at
    assert due is not None
    await world.sweep(due)
    await eventually(lambda: len(world.dms("UADMIN")) == 1)
    [escalation] = world.dms("UADMIN")
    assert f"{PAT} hasn't accepted `acme_to_globex` after 2 reminders" in escalation["text"]
    await eventually(lambda: "asked to follow up" in world.thread()[-1]["text"])
    assert len(inbox.messages) == 3  # escalation is the admin's, in Slack: no more e-mail
    assert inbox.envelopes == [("exalate@acme.com", [PAT])] * 3
    assert code not in everything_said_in_slack(world.slack)
    # the bot's log lines, at every level (the test's own SMTP server logs what it receives)
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert logged and not [line for line in logged if code in line]


async def test_resend_mails_a_fresh_code_and_cancel_a_withdrawn_note(
    world: World, inbox: Inbox
) -> None:
    _, _, code = await initiate(world, *by_email())
    await arrived(inbox, 1)
    await world.sender.command("resend acme_to_globex", user_id="UADMIN")
    [_, fresh] = await arrived(inbox, 2)
    assert fresh["Subject"] == "A fresh invitation code for the Exalate connection acme_to_globex"
    plain = text_of(fresh)
    assert "The code you had before no longer works." in plain
    new_code = plain[plain.index("EXA1-") : plain.index("EXA1-") + 48]
    assert new_code != code and code not in plain
    await eventually(lambda: "re-sent to" in world.thread()[-1]["text"])
    assert "by e-mail" in world.thread()[-1]["text"]

    asked = await world.sender.command("cancel acme_to_globex", user_id="UADMIN")
    question = asked.json or {}
    assert "Cancel the invitation for `acme_to_globex`?" in question["text"]
    message = {"channel": "C0GENERAL", "ts": "1.1", "text": question["text"]}
    await world.click("cancel_confirm", message | {"blocks": question["blocks"]}, "UADMIN")
    [*_, withdrawn] = await arrived(inbox, 3)
    subject = "Withdrawn: the invitation to the Exalate connection acme_to_globex"
    assert withdrawn["Subject"] == subject
    assert "Its code no longer works" in text_of(withdrawn) and new_code not in text_of(withdrawn)
    assert await world.state() == ("CANCELLED", "REVOKED")
    assert code not in everything_said_in_slack(world.slack)
    assert new_code not in everything_said_in_slack(world.slack)


async def test_a_hostile_name_or_note_injects_no_header(
    world: World, inbox: Inbox, slack: SlackEmulator
) -> None:
    slack.add_user(
        "UADMIN",
        name="ada",
        real_name="Ada\r\nBcc: spy@evil.example\r\nX-Injected: yes",
        email="ada@acme.com",
        is_admin=True,
    )
    hostile = "Hello\nBcc: spy@evil.example\n\n<script>alert(1)</script>"  # CR is refused
    await initiate(
        world,
        *by_email(
            partner_email=PAT,
            partner_how="email",
            partner_zone="Asia/Tokyo",
            notice_channel="CNOTICE",
            note=hostile,
        ),
    )
    [mail] = await arrived(inbox, 1)
    assert inbox.envelopes == [("exalate@acme.com", [PAT])]  # nobody else received it
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert "\n" not in mail["Subject"] and "\r" not in mail["Subject"]
    assert mail["Subject"].startswith("Ada Bcc: spy@evil.example X-Injected: yes invites you")
    assert parseaddr(mail["Reply-To"])[1] == "ada@acme.com"
    assert "<script>" not in html_of(mail) and "&lt;script&gt;" in html_of(mail)
    assert "Bcc: spy@evil.example" in text_of(mail)  # the note's text, in the body only


async def test_a_550_is_told_to_the_admin_in_slack(world: World, inbox: Inbox) -> None:
    inbox.refuse[PAT] = "550 5.1.1 No such user here"
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *by_email(), {})
    await eventually(lambda: "refused the e-mail" in json.dumps(world.slack.views[view_id]))
    assert "No such user here" in json.dumps(world.slack.views[view_id])
    await eventually(lambda: len(world.dms("UADMIN")) == 1)
    [told] = world.dms("UADMIN")
    assert f"The e-mail to {PAT}" in told["text"] and "No such user here" in told["text"]
    assert inbox.messages == []


async def test_an_address_slack_knows_nobody_for_goes_by_e_mail(world: World, inbox: Inbox) -> None:
    """Single-token mode, "In Slack" chosen, an address nobody in the workspace has: by e-mail,
    reminded in the admin's zone (Europe/Berlin here) since none was typed."""
    review, _, code = await initiate(
        world,
        *by_email(partner_email="nobody@globex.com", partner_how="slack", notice_channel="CNOTICE"),
    )
    assert "nobody@globex.com, by e-mail (reminders in Europe/Berlin time)" in review
    [mail] = await arrived(inbox, 1)
    assert mail["To"] == "nobody@globex.com" and code in text_of(mail)
    invitation = await pending(world.bot)
    assert (invitation.by_email, invitation.partner_tz) == (True, "Europe/Berlin")
    assert invitation.reach_team_id is None


async def test_the_e_mailed_partner_accepts_once_they_turn_up_in_slack(
    world: World, inbox: Inbox
) -> None:
    _, _, code = await initiate(world, *by_email())
    await arrived(inbox, 1)
    answer = await world.accept_by_command("UOTHER", code)
    assert "errors" not in answer, answer
    await eventually(lambda: "accepted" in json.dumps(world.thread()))
    assert await world.state() == ("ACTIVE", "REDEEMED")
    [invitation] = await db_rows(world.bot, Invitation)
    assert invitation.partner_user_id == "UOTHER"
    accepted = [a for a in await db_rows(world.bot, AuditEvent) if a.action == "accepted"]
    assert [a.actor for a in accepted] == ["UOTHER"]
    again = await world.accept_by_command("UOTHER", code)
    assert "errors" in again  # used: once only


async def test_expiry_mails_a_note_then_resend_a_fresh_code(world: World, inbox: Inbox) -> None:
    _, _, code = await initiate(world, *by_email())
    await arrived(inbox, 1)
    invitation = await pending(world.bot)
    await world.sweep(invitation.expires_at + timedelta(minutes=1))
    expired = [m for m in await arrived(inbox, 2) if m["Subject"].startswith("Expired:")]
    assert len(expired) == 1 and "Its code no longer works" in text_of(expired[0])
    assert code not in text_of(expired[0])
    assert await world.state() == ("EXPIRED", "EXPIRED")
    await eventually(lambda: any("expired" in dm["text"] for dm in world.dms("UADMIN")))
    await world.sender.command("resend acme_to_globex", user_id="UADMIN")
    fresh = (await arrived(inbox, 3))[-1]
    assert fresh["Subject"] == "A fresh invitation code for the Exalate connection acme_to_globex"
    assert await world.state() == ("PENDING", "PENDING")


async def test_with_approvals_the_e_mail_waits_for_the_approver(
    world: World, inbox: Inbox, slack: SlackEmulator
) -> None:
    """EXALATE_APPROVERS with the e-mail route: nothing is mailed before Approve; then the
    invitation e-mail goes out, and the notice names the approver."""
    slack.add_user("UAPPROVER", name="april")
    world.bot.services.__dict__["approvers"] = Permissions(["UAPPROVER"])
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *by_email(), {})
    await eventually(lambda: len(world.dms("UAPPROVER")) == 1)
    assert "awaiting approval" in json.dumps(world.slack.views[view_id])
    [request] = world.dms("UAPPROVER")
    assert f"asks to invite {PAT}" in request["text"] and inbox.messages == []
    await world.click("approval_approve", request, "UAPPROVER")
    [mail] = await arrived(inbox, 1)
    assert mail["To"] == PAT and "EXA1-" in text_of(mail)
    assert parseaddr(mail["Reply-To"]) == ("Ada Admin", "ada@acme.com")
    await eventually(lambda: any("approved by" in n["text"] for n in world.thread()))
    [sent] = [n for n in world.thread() if "Invitation sent" in n["text"]]
    assert f"Invitation sent to {PAT} by e-mail" in sent["text"]
    assert sent["text"].endswith("approved by <@UAPPROVER>.")
    invitation = await pending(world.bot)
    assert (invitation.by_email, invitation.partner_tz) == (True, "Asia/Tokyo")
