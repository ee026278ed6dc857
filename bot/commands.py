"""Replies to `/exalate` subcommands, as pure text builders."""

from __future__ import annotations


def help_text(admins: str) -> str:
    return (
        "*Exalate connections from Slack*\n"
        f"• `/exalate connect`: initiate a connection and invite the partner "
        f"(Exalate admins: {admins}).\n"
        "• `/exalate accept`: accept an invitation code you were sent (for partners).\n"
        "• `/exalate help`: this message."
    )


ACCEPT_IN_CONSOLE = (
    "Invitations to this workspace's Exalate node are accepted in *your* Exalate console: "
    "*Connections → Accept invitation*, paste the code, choose your project, *Confirm*. I "
    "notice when it turns Active."
)
