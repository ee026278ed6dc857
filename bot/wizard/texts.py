"""The wizard's user-facing texts (the validators' messages stay with their rules)."""

from __future__ import annotations

from bot.backend.base import BASIC_RULES

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

MODE_HELP = {  # a radio option's description: at most 75 characters
    "basic": "Fixed sync rules; to change them, upgrade to Visual or Script mode.",
    "visual": "Rules in a visual editor; admin access on both sides, no invitation code.",
    "script": "Groovy rules on each side: each side says what it sends and receives.",
}
MODE_NOTE = (
    "Script sends the partner an invitation code; Basic does too, unless you have admin "
    "access to the destination.\nVisual makes no code: with admin access on both sides, you "
    "accept the connection on the destination yourself, and I follow it until it is Active."
)
MODE_NOTE_PRIVATE = (
    "Without a URL, Basic and Script both send the partner an invitation code: the private "
    "side accepts it."
)
PRIVATE_ACCEPTS = (
    "The private side (the one without a URL) is the side that accepts the invitation: "
    "without a URL, the destination's admin accepts the code there."
)
RULES_NOTE = {
    "basic": (
        f"Basic mode's sync rules are fixed: they sync {', '.join(BASIC_RULES)}. To change "
        "them, upgrade the connection to Visual or Script mode in the Exalate console."
    ),
    "visual": (
        "You set what syncs in Visual mode's editor once the connection is set up, for both "
        "sides at once."
    ),
    "script": (
        "Exalate starts each side with default sync rules; once the connection is accepted, "
        "each side edits its own outgoing and incoming rules."
    ),
}
ACCESS_HELP = {  # the access step's options: (label, description of at most 75 characters)
    "yes": ("Yes, I have admin access", "You accept it on the destination yourself: no code."),
    "no": ("No", "I send an invitation code to its admin, who accepts it there."),
}
SEEN_DIRECT = ":white_check_mark: Created once, on your first click."


def name_in_use(name: str) -> str:
    return f"`{name}` is already a connection; choose another."


def name_just_taken(name: str) -> str:
    return f"`{name}` was just taken; go back and choose another."


def cannot_open(error: str) -> str:
    return f":warning: I couldn't open the wizard (`{error}`). Try again."


def sending(partner: str, *, by: str = "DM") -> str:
    return f":hourglass_flowing_sand: Sending the invitation to {partner} by {by}…"


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


def by_email(partner: str, *, sent: bool) -> str:
    if sent:
        return (
            f":incoming_envelope: E-mailed to {partner}, with the code and how to accept. "
            "The reminders go by e-mail too; if the mail server refuses it, I'll tell you here."
        )
    return (
        f":hourglass_flowing_sand: The e-mail to {partner} is on its way: the mail server "
        "hasn't taken it yet, and I'll keep trying. If it refuses it, I'll tell you here."
    )


def mail_refused(partner: str, reason: str | None) -> str:
    return (
        f":warning: The mail server refused the e-mail to {partner}"
        + (f" (`{reason}`)" if reason else "")
        + ". Copy the code above and pass it on yourself, or check the address and use Resend."
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


def finish_local(name: str) -> str:
    """The result for a connection without a code, on the embedded node."""
    return (
        f"No invitation code: accept `{name}` on the destination yourself, with your admin "
        "access there. Then click *I accepted it on the destination* in the DM I've sent you: "
        "the embedded node can't see the destination, so it takes your word for it, and the "
        "connection turns Active."
    )


def finish_on_node(name: str, console_url: str, *, active: bool) -> str:
    """The result for a connection without a code, on a real node."""
    if active:
        return f"The node already reports `{name}` Active: you and the thread get what comes next."
    return (
        f"No invitation code: finish `{name}` on the destination (<{console_url}|the Exalate "
        "console>). I follow it on the node and tell you and the thread when it turns Active."
    )


def not_on_node(name: str) -> str:
    return (
        f"There is no connection named `{name}` on the node yet: create it in the Exalate "
        "console with the values above, accept it on the destination, then click again."
    )


def not_pending_on_node(name: str, status: str) -> str:
    return (
        f"`{name}` is {status.lower() or 'in an unknown state'} on the node, not Pending or "
        "Active: create it in the Exalate console with the values above."
    )


def domain_refused(domains: list[str], address: str | None) -> str:
    """The partner step's refusal under EXALATE_PARTNER_DOMAINS, naming the allowed domains."""
    allowed = ", ".join(domains)
    if not address:
        return (
            "I can't see this person's e-mail address in Slack, so I can't check it against "
            f"the domains partners may be invited from ({allowed}). Enter their e-mail address "
            "instead."
        )
    return f"Only partners at {allowed} can be invited; {address} isn't."[:300]
