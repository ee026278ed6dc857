"""What the Home tab says."""

from __future__ import annotations

TITLE = "Exalate connections"
WAITING_FOR_YOU = "Invitations waiting for you"
WAITING_FOR_PARTNERS = "Waiting for partners"
NONE_WAITING = "No invitation is waiting for a partner."
RECENTLY_ACTIVE = "Recently active"
AWAITING_APPROVAL = "Awaiting approval"
APPROVERS_DECIDE = "The approvers decide in their DMs; no code exists before one approves."
NONE_ACTIVE = "No connection has turned active yet."
NEW_CONNECTION = "New connection"
REMIND_NOW = "Remind now"
REMINDER_SENT = ":bell: Reminder sent."

# what an admin's button does, for the refusal a non-admin gets (permissions.refusal)
START_A_CONNECTION = "start a connection"
SEND_REMINDERS = "send reminders"


def invites_you(initiator: str, name: str, ago: str) -> str:
    """`name` is escaped already."""
    return f"{initiator} invites you to `{name}` ({ago} ago). The code is in our DM."


def about(admins: str) -> str:
    return (
        "I connect your company's issue tracker with partners' through *Exalate*: "
        "admins start a connection with `/exalate connect`, I deliver the invitation "
        "code to the partner and follow up until they accept.\n"
        f"Exalate admins here: {admins}."
    )


def more_waiting(more: int) -> str:
    return f"…and {more:,} more: `/exalate list pending`."


def awaiting(name: str, partner: str, initiator: str, ago: str) -> str:
    """`name` is escaped already."""
    return f"• `{name}` for {partner}, asked by <@{initiator}> {ago} ago"
