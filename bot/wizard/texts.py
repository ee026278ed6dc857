"""The wizard's user-facing texts (the validators' messages stay with their rules)."""

from __future__ import annotations

TITLE = "New Exalate connection"
DATABASE_AWAY = "I couldn't check this just now (my database is unavailable); try again shortly."
DATABASE_AWAY_TITLE = "Database unavailable"
NODE_AWAY_TITLE = "Exalate node unavailable"
SEEN = ":white_check_mark: Initiated once, on your first click; the DM goes to the partner."
EXPIRED_TITLE = "Wizard closed"
EXPIRED = (
    "This wizard is no longer open (it was finished, cancelled or is too old). "
    "Run `/exalate connect` to start again."
)
MISSING = "an answer is missing or not right"
UNREACHABLE_PARTNER = "That partner can't be reached."
PARTNER_TWICE = "Choose the partner above or enter an e-mail, not both."

MODE_HELP = {
    "basic": "Syncs summary, description, comments and attachments with fixed rules.",
    "visual": "Sync rules in a visual editor; needs admin access on both sides.",
    "script": "Groovy sync rules on each side: each side controls what it sends and receives.",
}


def name_in_use(name: str) -> str:
    return f"`{name}` is already a connection; choose another."


def name_just_taken(name: str) -> str:
    return f"`{name}` was just taken; go back and choose another."


def cannot_open(error: str) -> str:
    return f":warning: I couldn't open the wizard (`{error}`). Try again."


def sending(partner: str) -> str:
    return f":hourglass_flowing_sand: Sending the invitation to {partner} by DM…"


def sent(partner: str) -> str:
    return f":white_check_mark: Sent to {partner} by DM, with how to accept."


def not_sent(partner: str, error: str | None) -> str:
    return (
        f":warning: I couldn't DM {partner} (`{error}`). Copy the code above "
        "and send it to them yourself."
    )


def slow(partner: str) -> str:
    return (
        f":hourglass_flowing_sand: Slack is slow to answer; the DM to {partner} "
        "goes out as soon as it does."
    )


def by_hand(partner: str, link: str | None) -> str:
    text = (
        f":incoming_envelope: I can't reach {partner} in Slack: pass the code above on to "
        "them yourself (I've sent you a copy by DM). I'll remind you while it waits."
    )
    if link:
        text += (
            f" If their company uses Slack, their Slack admin can add the app with <{link}|this "
            "install link>: the reminders then go to them."
        )
    return text
