"""What the bot says back about an invitation: refusals (the reason, for the person who
asked) and the answers to the partner's and the admin's actions."""

from __future__ import annotations

from datetime import datetime

from bot.slack.text import escape, slack_date

# a pasted code that can't be redeemed
REJECTED = {
    "unknown": "That code doesn't match any invitation. Paste the whole code.",
    "used": "That code was already used; the connection is active.",
    "other_partner": "That code was issued to someone else; ask them to accept it.",
    "revoked": "That code no longer works; ask for a fresh invitation.",
}
NODE_REFUSED = "The node refused that code."

NO_INVITATION = "I can't find that invitation any more."
NO_CONNECTION = "I can't find that connection any more."
NOTHING_TO_SNOOZE = "That invitation is no longer open, so there is nothing to snooze."
NOT_OPEN = "That invitation is no longer open; nothing changed."
NOT_WAITING = "That invitation is no longer waiting for the partner."
CHANGED_NOT_SENT = "That invitation changed meanwhile; nothing was sent."
CHANGED_NOT_CANCELLED = "That invitation changed meanwhile; nothing was cancelled."
ALREADY_RESENT = "That invitation was already resent; the partner has a fresh code."


def for_someone_else(partner: str) -> str:
    return f"This invitation is for <@{partner}>, so only they can answer it. Nothing changed."


def snoozed(name: str, until: datetime) -> str:
    return f":zzz: Snoozed: the next reminder about `{escape(name)}` comes {slack_date(until)}."


def expired(admin: str) -> str:
    return f"That code expired. Ask {admin} to resend the invitation."


def withdrawn(admin: str) -> str:
    return f"That invitation was withdrawn or replaced; ask {admin} for a current code."


def node_unavailable(error: object) -> str:
    return f"The Exalate node could not take it just now: {error}."


def no_fresh_code(error: object) -> str:
    return f"I couldn't get a fresh code: {error}."


def not_reopenable(name: str, status: str, verb: str) -> str:
    return (
        f"`{escape(name)}` is {status.lower()}; only a pending or expired invitation can be {verb}."
    )


def waits_for_code(name: str) -> str:
    return (
        f"`{escape(name)}` waits for its partner to accept an invitation code, not for you "
        "on the destination."
    )


def already_active(name: str) -> str:
    return f"`{escape(name)}` is already active; nothing changed."


def not_pending(name: str, status: str) -> str:
    return f"`{escape(name)}` is {status.lower()}, not pending; nothing changed."


def node_reports(name: str) -> str:
    return (
        f"The Exalate node reports `{escape(name)}` Active once it is accepted on the "
        "destination: I follow it there and tell you."
    )


def no_code_to_resend(name: str) -> str:
    return (
        f"`{escape(name)}` has no invitation code to resend: you accept it on the destination "
        "yourself, with your admin access there."
    )


ACCEPTED_ON_DESTINATION = (
    ":white_check_mark: The connection is now *Active*; I've DM'd you what comes next."
)


# the answers to the buttons and modals (handlers/partner.py)
RESENT = ":incoming_envelope: Resent with a fresh code; the old one no longer works."
ACCEPTED_TITLE = "Invitation accepted"
ACCEPTED = (
    ":white_check_mark: Accepted: the connection is now *Active*. The person who invited "
    "you has been told."
)
DECLINED_TITLE = "Invitation declined"
DECLINED = "Declined. The person who invited you has been told, and the reminders stop."
