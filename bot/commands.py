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
