"""What `/exalate`'s commands say (the replies built from data are in views.py)."""

from __future__ import annotations

ACCEPT_IN_CONSOLE = (
    "Invitations to this workspace's Exalate node are accepted in *your* Exalate console: "
    "*Connections → Accept invitation*, paste the code, choose your project, *Confirm*. I "
    "notice when it turns Active."
)
DATABASE_AWAY = ":warning: I couldn't reach my database just now; please try again in a moment."
WHO_ASKS = "I can't tell who is asking; try again from Slack."
WHICH_CONNECTION = "Which connection? Give its name, e.g. `/exalate status acme_to_partnerco`."
KEPT = "Kept: nothing changed."

# the admins' subcommands, each with what it does for the refusal a non-admin gets
ADMIN_COMMANDS = {
    "connect": "start a connection",
    "list": "list connections",
    "status": "see a connection's status",
    "resend": "resend invitations",
    "cancel": "cancel invitations",
    "report": "see the invitation funnel",
    "export": "export connections",
}


def help_text(admins: str) -> str:
    return (
        "*Exalate connections from Slack*\n"
        f"For Exalate admins ({admins}):\n"
        "• `/exalate connect`: initiate a connection and invite the partner.\n"
        "• `/exalate list [pending|active|expired|declined|all]`: connections, newest first.\n"
        "• `/exalate status <connection>`: one connection's state and its audit trail.\n"
        "• `/exalate resend <connection>`: a fresh code to the partner; reminders start over.\n"
        "• `/exalate cancel <connection>`: withdraw the invitation (asks first).\n"
        "• `/exalate report`: the invitation funnel, last 30 and 90 days.\n"
        "• `/exalate export [days]`: a CSV of the connections' audit trail of the last 90 "
        "days (or `days`), in your DM with me.\n"
        "For partners:\n"
        "• `/exalate accept`: accept an invitation code you were sent.\n"
        "• `/exalate help`: this message. The app's *Home* tab shows what concerns you."
    )


def cannot_cancel(name: str, status: str) -> str:
    return f"`{name}` is {status.lower()}; only a pending or expired invitation can be cancelled."


def resent(name: str, partner: str) -> str:
    """`name` is escaped already."""
    return (
        f":incoming_envelope: Resent `{name}` to {partner} with a fresh code; the old "
        "code no longer works and the reminders start over."
    )
