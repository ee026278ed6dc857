"""Block Kit builders for an invitation's messages: the partner's DMs, the admin's, and the
channel notices (built from bot/slack/blocks.py).

Channel notices never carry the invitation code; only `build_invitation_dm` does.

People come in as they are to be shown where the message appears (bot/invitations/people.py):
a mention (`<@U…>`) in a workspace where that person can be seen, else their name and company.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.backend.base import MODES, ConnectionBackend
from bot.invitations.ids import InvitationIds as Ids
from bot.slack.blocks import actions, button, context, fields, message, section
from bot.slack.text import escape, quote, slack_date

HOW_TO_ACCEPT = (
    "*How to accept on your side*\n"
    "1. Open the Exalate console on your instance and go to *Connections*.\n"
    "2. Click *Accept invitation* and paste the code above.\n"
    "3. Choose the project for incoming sync on your side.\n"
    "4. Click *Confirm*: the connection turns Active on both sides."
)
PRIVATE_SIDE = (
    "Your instance is the private side of this connection (it has no URL the other side "
    "reaches), and the private side is the one that accepts the invitation."
)
BOTS_RULE = "this Slack bot's rule, not Exalate's"


def expiry_note(expires_at: datetime) -> str:
    return (
        f"I remind you until {slack_date(expires_at)}, when this invitation expires here: "
        f"the reminders and the expiry are {BOTS_RULE}."
    )


def build_invitation_dm(
    *,
    initiator: str,
    connection_name: str,
    local_short_name: str,
    remote_short_name: str,
    mode: str,
    code: str,
    invitation_id: int,
    note: str = "",
    accept_here: bool = True,
    private: bool = False,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The partner's invitation: who, what, the code in a code block, how to accept (on the
    private side, when theirs is), until when, and the buttons to accept, snooze or
    decline."""
    name = escape(connection_name)
    blocks: list[dict[str, Any]] = [
        section(f":wave: {initiator} invites you to the Exalate connection `{name}`."),
        *fields(
            [
                ("From instance", f"`{escape(local_short_name)}`"),
                ("To instance", f"`{escape(remote_short_name)}`"),
                ("Mode", MODES.get(mode, mode)),
            ]
        ),
        section(f"*Invitation code*\n```{code}```"),
    ]
    if note:
        blocks.append(section(f"*Note from {initiator}*\n{quote(note)}"))
    blocks.append(section(HOW_TO_ACCEPT))
    if private:
        blocks.append(context(PRIVATE_SIDE))
    if expires_at is not None:
        blocks.append(context(expiry_note(expires_at)))
    blocks.append(partner_actions(invitation_id, accept_here=accept_here))
    text = f"{initiator} invites you to the Exalate connection {name}"
    return {"text": text, "blocks": blocks}


# --- partner actions -------------------------------------------------------------------


def partner_actions(invitation_id: int, *, accept_here: bool = True) -> dict[str, Any]:
    """The partner's buttons; Accept only where the bot can take the code (embedded node)."""
    value = str(invitation_id)
    accept = [button(Ids.ACCEPT, "Accept invitation", value, "primary")] if accept_here else []
    return actions(
        f"invitation_{value}",
        *accept,
        button(Ids.SNOOZE_DAY, "Snooze a day", value),
        button(Ids.SNOOZE_MONDAY, "Snooze until Monday", value),
        button(Ids.DECLINE, "Not me / decline", value, "danger"),
    )


def admin_actions(
    connection_id: int, *, invitation_id: int | None = None, cancel: bool = True
) -> dict[str, Any]:
    """Resend and Cancel. The value names the invitation too, so a second click on the same
    button (after the first replaced the invitation) does nothing twice."""
    value = f"{connection_id}:{invitation_id}" if invitation_id else str(connection_id)
    elements = [button(Ids.RESEND, "Resend (fresh code)", value, "primary")]
    if cancel:
        elements.append(cancel_button(value))
    return actions(f"connection_{connection_id}", *elements)


def cancel_button(value: str, *, code: bool = True) -> dict[str, Any]:
    """Cancel, asking first; `code`: the connection has an invitation code to stop."""
    said = "The code stops working and the partner is told." if code else "It is cancelled here."
    cancel = button(Ids.CANCEL, "Cancel invitation" if code else "Cancel connection", value)
    cancel["style"] = "danger"
    cancel["confirm"] = {
        "title": {"type": "plain_text", "text": "Cancel the invitation?" if code else "Cancel it?"},
        "text": {"type": "mrkdwn", "text": said},
        "confirm": {"type": "plain_text", "text": "Cancel it"},
        "deny": {"type": "plain_text", "text": "Keep it"},
        "style": "danger",
    }
    return cancel


def build_reminder_dm(
    *,
    initiator: str,
    connection_name: str,
    waited: str,
    number: int,
    of: int,
    invitation_id: int,
    accept_here: bool = True,
) -> dict[str, Any]:
    name = escape(connection_name)
    text = (
        f":bell: Reminder {number} of {of}: {initiator} invited you to the Exalate "
        f"connection `{name}` {waited} ago, and it is still waiting for you."
    )
    how = HOW_TO_ACCEPT.replace(
        "paste the code above", "paste the invitation code from my first message"
    )
    return {
        "text": text,
        "blocks": [
            section(text),
            section(how),
            partner_actions(invitation_id, accept_here=accept_here),
        ],
    }


# --- channel notices: one line each, never a code ----------------------------------------


def notice_sent(
    *,
    partner: str,
    name: str,
    by: str,
    resent: bool = False,
    how: str = "",
    approved_by: str | None = None,
) -> dict[str, Any]:
    """`how`: " by e-mail", or "" (a Slack DM); `approved_by`: the approver's user id."""
    if resent:
        return message(
            f":incoming_envelope: Invitation re-sent to {partner}{how} for `{escape(name)}` by "
            f"{by}, with a fresh code."
        )
    approved = f", approved by <@{approved_by}>" if approved_by else ""
    return message(
        f":incoming_envelope: Invitation sent to {partner}{how} for `{escape(name)}` by "
        f"{by}{approved}."
    )


def notice_reminded(
    *, partner: str, name: str, number: int, of: int, how: str = ""
) -> dict[str, Any]:
    return message(f":bell: Reminded {partner}{how} about `{escape(name)}` ({number} of {of}).")


def notice_escalated(*, partner: str, count: int, admin: str) -> dict[str, Any]:
    return message(
        f":raising_hand: No answer from {partner} after {count} reminders; {admin} was "
        "asked to follow up."
    )


def notice_expired(*, partner: str, name: str, age: str) -> dict[str, Any]:
    return message(
        f":hourglass: The invitation for `{escape(name)}` expired after {age} without an answer "
        f"from {partner}."
    )


def notice_active(*, partner: str, name: str, after: str) -> dict[str, Any]:
    return message(
        f":white_check_mark: `{escape(name)}` is active, accepted by {partner} after {after}."
    )


def notice_declined(*, partner: str, name: str) -> dict[str, Any]:
    return message(f":no_entry: {partner} declined `{escape(name)}`.")


def notice_cancelled(*, admin: str, name: str) -> dict[str, Any]:
    return message(f":x: {admin} cancelled the invitation for `{escape(name)}`.")


def notice_deactivated(*, name: str) -> dict[str, Any]:
    return message(f":double_vertical_bar: `{escape(name)}` was deactivated on the node.")


def notice_removed(*, name: str) -> dict[str, Any]:
    return message(f":wastebasket: `{escape(name)}` is no longer on the Exalate node.")


def dm_node_change(*, name: str, what: str) -> dict[str, Any]:
    """The admin's DM when the node reports a change nobody made in Slack."""
    return message(f":information_source: `{escape(name)}` {what} on the Exalate node.")


# --- direct messages ---------------------------------------------------------------------


def dm_escalation(
    *, partner: str, name: str, count: int, age: str, connection_id: int, invitation_id: int
) -> dict[str, Any]:
    return message(
        f":raising_hand: {partner} hasn't accepted `{escape(name)}` after {count} reminders "
        f"(invited {age} ago). Resend it with a fresh code, or cancel the invitation?",
        admin_actions(connection_id, invitation_id=invitation_id),
    )


def dm_expired_partner(*, name: str, age: str, admin: str, on_node: bool = False) -> dict[str, Any]:
    """`on_node`: a real node, where the bot can't stop the code (only the console can)."""
    code = (
        f"I've stopped reminding you; ask {admin} for a current invitation if you still want "
        "to connect."
        if on_node
        else f"Its code no longer works; {admin} can send you a new one."
    )
    return message(
        f":hourglass: The invitation to the Exalate connection `{escape(name)}` expired after "
        f"{age} ({BOTS_RULE}). {code}"
    )


def dm_expired_admin(
    *,
    name: str,
    age: str,
    partner: str,
    connection_id: int,
    invitation_id: int,
    on_node: bool = False,
) -> dict[str, Any]:
    node = (
        " On the Exalate node it is still Pending, and its code still works there: delete the "
        "connection in the console if it shouldn't."
        if on_node
        else ""
    )
    return message(
        f":hourglass: The invitation for `{escape(name)}` expired after {age} without an answer "
        f"from {partner} ({BOTS_RULE}).{node} Resend it with a fresh code?",
        admin_actions(connection_id, invitation_id=invitation_id, cancel=False),
    )


def dm_active(*, name: str, partner: str, after: str, project: str | None) -> dict[str, Any]:
    theirs = f" Their project: {escape(project)}." if project else ""
    return message(
        f":white_check_mark: `{escape(name)}` is active: {partner} accepted after {after}.{theirs}"
    )


def dm_declined(*, partner: str, name: str, reason: str) -> dict[str, Any]:
    said = f"\nTheir reason:\n{quote(reason)}" if reason else " They gave no reason."
    return message(f":no_entry: {partner} declined the invitation to `{escape(name)}`.{said}")


def dm_withdrawn(*, admin: str, name: str) -> dict[str, Any]:
    return message(
        f":x: {admin} withdrew the invitation to the Exalate connection `{escape(name)}`; "
        "its code no longer works."
    )


# --- a partner Slack doesn't reach --------------------------------------------------------


def dm_nudge(
    *,
    partner: str,
    name: str,
    waited: str,
    number: int,
    of: int,
    connection_id: int,
    invitation_id: int,
) -> dict[str, Any]:
    """The reminder, to the admin, for a partner Slack can't reach: they pass it on."""
    return message(
        f":bell: Reminder {number} of {of}: {partner} hasn't accepted `{escape(name)}` yet "
        f"(invited {waited} ago), and I can't reach them in Slack: nudge them. Resend gives "
        "you a fresh code to pass on.",
        admin_actions(connection_id, invitation_id=invitation_id),
    )


def dm_code_by_hand(
    *, partner: str, name: str, code: str, install_link: str | None
) -> dict[str, Any]:
    """The admin's copy of a code Slack can't take to the partner: to pass on by hand."""
    blocks = [
        section(
            f":incoming_envelope: I can't reach {partner} in Slack, so the invitation to "
            f"`{escape(name)}` is yours to pass on: send them this code, with how to accept."
        ),
        section(f"*Invitation code*\n```{code}```"),
        section(HOW_TO_ACCEPT),
    ]
    if install_link:
        blocks.append(
            section(
                "If their company uses Slack, their Slack admin can add the Exalate app with "
                f"<{install_link}|this install link>: the reminders then go to them there."
            )
        )
    return {"text": f"The invitation code for {escape(name)}, to pass on", "blocks": blocks}


def notice_by_hand(*, partner: str, name: str, by: str) -> dict[str, Any]:
    return message(
        f":incoming_envelope: Invitation for `{escape(name)}` created by {by}; Slack can't reach "
        f"{partner}, so {by} passes the code on."
    )


def dm_unreachable(*, partner: str, name: str, workspace: str) -> dict[str, Any]:
    """The admin's DM when the partner's workspace removes the app."""
    return message(
        f":warning: {workspace} removed the Exalate app: {partner} can't be reached in Slack any "
        f"more for `{escape(name)}`. The reminders come to you now, to pass on; if "
        f"{workspace} adds the app again, they go to {partner} again."
    )


def notice_unreachable(*, partner: str, workspace: str) -> dict[str, Any]:
    return message(
        f":warning: {workspace} removed the app: {partner} can't be reached in Slack any more."
    )


def notice_reached(*, partner: str, workspace: str) -> dict[str, Any]:
    return message(
        f":electric_plug: {workspace} added the Exalate app: the invitation reaches "
        f"{partner} in their Slack now."
    )


def cancelled_text(backend: ConnectionBackend) -> str:
    """What the admin reads once an invitation is cancelled."""
    text = (
        ":x: Cancelled. Where there was an invitation code, it no longer works, the partner was "
        "told and the reminders stop."
    )
    if not backend.can_redeem and backend.console_url:
        text += (
            f" Delete the connection in the Exalate console too (<{backend.console_url}"
            "|open the node>): the node keeps it until you do."
        )
    return text
