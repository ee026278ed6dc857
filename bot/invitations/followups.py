"""Messages that follow the invitation (issue 17): the partner's DMs edited in place once they
no longer carry the newest buttons, and the connection's status card in the channel (its
first notice, edited on each change; the thread keeps the history). Pure builders.

Only the newest pending DM keeps Accept, Snooze and Not me: an earlier one points to it. When
the invitation ends (accepted, declined, expired, cancelled, replaced by a resend), every one
of them says so in one line, with the time in the partner's own zone (Slack's date format
shows each reader their own). The first DM's code stays readable while the invitation waits;
after that it is shown as a code that no longer works, and not repeated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.invitations.node_messages import shown_status
from bot.invitations.people import mention, partner_for_admin
from bot.invitations.policy import waited, zone
from bot.slack.blocks import context, fields, message, section
from bot.slack.text import escape, slack_date
from storage.models import Connection, Invitation

# how an invitation ended, as a partner's DM tells it
ENDED = {
    "accepted": (":white_check_mark:", "You accepted this invitation"),
    "declined": (":no_entry:", "You declined this invitation"),
    "expired": (":hourglass:", "This invitation expired"),
    "cancelled": (":x:", "This invitation was cancelled"),
    "replaced": (":arrows_counterclockwise:", "This invitation was replaced by a new one"),
}
CODE_ENDED = {
    "accepted": "it was used to accept",
    "declined": "the invitation was declined",
    "expired": "the invitation expired",
    "cancelled": "the invitation was cancelled",
    "replaced": "a new invitation with a fresh code replaced it: use the code in my newer message",
}


def ended_dm(
    *, how: str, when: datetime, initiator: str, connection_name: str, first: bool
) -> dict[str, Any]:
    """An invitation DM or reminder after the invitation ended: no buttons, one line saying
    what happened and when; the first DM says its code no longer works."""
    icon, what = ENDED[how]
    line = f"{icon} {what} on {slack_date(when)}."
    about = f"{initiator}'s invitation to the Exalate connection `{escape(connection_name)}`."
    code = [section(f"*Invitation code*\nNo longer works: {CODE_ENDED[how]}.")] if first else []
    blocks = [section(line), *code, context(about)]
    return {"text": f"{what}: {escape(connection_name)}", "blocks": blocks}


def superseded_reminder(
    *, number: int, initiator: str, connection_name: str, when: datetime
) -> dict[str, Any]:
    """An earlier reminder once a newer one went out: no buttons, a pointer to the newest."""
    text = (
        f":bell: Reminder {number}: {initiator}'s invitation to the Exalate connection "
        f"`{escape(connection_name)}` is still waiting for you."
    )
    return message(
        text,
        context(f"I sent a newer reminder on {slack_date(when)}: its buttons are the ones to use."),
    )


def superseded_invitation(invitation_dm: dict[str, Any], *, when: datetime) -> dict[str, Any]:
    """The first DM once a reminder went out: the same message (its code still readable, the
    invitation still waits), without its buttons, pointing to the newest reminder."""
    blocks = [b for b in invitation_dm["blocks"] if b.get("type") != "actions"]
    blocks.append(
        context(
            f"I sent a reminder on {slack_date(when)}: use its buttons to accept, snooze or "
            "decline. The code above still works."
        )
    )
    return {"text": invitation_dm["text"], "blocks": blocks}


# --- the status card ---------------------------------------------------------------------

STATE_SHOWN = {
    "PENDING": ":hourglass_flowing_sand: Pending: waiting for the partner",
    "PENDING_IN_CONSOLE": ":hourglass_flowing_sand: Pending: to finish in the Exalate console",
    "ACTIVE": ":white_check_mark: Active",
    "DECLINED": ":no_entry: Declined",
    "EXPIRED": ":hourglass: Expired",
    "CANCELLED": ":x: Cancelled",
    "DEACTIVATED": ":double_vertical_bar: Deactivated",
    "REMOVED": ":wastebasket: Removed from the node",
    "APPROVAL": ":raised_hand: Awaiting approval: no code yet",
    "REJECTED": ":no_entry: Rejected by an approver",
}


def partner_time(moment: datetime, tz: str | None) -> str:
    """A time in the partner's own zone, said so: `Thu 3 Dec, 09:00 (America/New_York)`."""
    place = zone(tz)
    local = moment.astimezone(place)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} ({place.key})"


def status_card(
    *,
    name: str,
    partner: str,
    state: str,
    sent_at: datetime,
    by: str,
    age: str,
    reminders_sent: int,
    reminders_max: int,
    next_reminder: datetime | None,
    partner_tz: str | None,
    node_status: str | None = None,
) -> dict[str, Any]:
    """The connection's card: what, with whom, where it stands, since when and by whom, the
    reminders so far and the next one in the partner's local time, its age. Never a code."""
    shown = STATE_SHOWN.get(state, state.title())
    if node_status:
        shown += f" (the node says {shown_status(node_status)})"
    reminders = f"{reminders_sent} of {reminders_max} sent"
    if next_reminder is not None and state == "PENDING":
        reminders += f"; next {partner_time(next_reminder, partner_tz)}, the partner's time"
    blocks = [
        section(f"*Exalate connection `{escape(name)}`*\n{shown}"),
        *fields(
            [
                ("Partner", partner),
                ("Sent", f"{slack_date(sent_at)} by {by}"),
                ("Reminders", reminders),
                ("Age", age),
            ]
        ),
        context("This card follows the connection; its thread keeps the history."),
    ]
    return {"text": f"Exalate connection {escape(name)}: {shown}", "blocks": blocks}


def card_message(
    connection: Connection, invitation: Invitation | None, now: datetime, *, reminder_max: int
) -> dict[str, Any]:
    """The card as things stand: the connection and its newest invitation."""
    state = str(connection.status)
    if invitation is None and state == "PENDING":  # no code: the admin finishes it
        state = "PENDING_IN_CONSOLE"
    return status_card(
        name=connection.name,
        partner=partner_for_admin(connection) if invitation else "none (no invitation code)",
        state=state,
        sent_at=(invitation.created_at if invitation else connection.created_at),
        by=mention(connection.initiator_user_id),
        age=waited(connection.created_at, now),
        reminders_sent=invitation.reminders_sent if invitation else 0,
        reminders_max=reminder_max,
        next_reminder=invitation.next_reminder_at if invitation else None,
        partner_tz=invitation.partner_tz if invitation else None,
        node_status=connection.node_status,
    )
