"""What the bot says when a real node changes a connection nobody changed in Slack, beyond
messages.py's: a connection reactivated, and a status the bot's states don't follow."""

from __future__ import annotations

from typing import Any

from bot.slack.blocks import message
from bot.slack.text import escape


def shown_status(status: str) -> str:
    """The node's status as it came, safe in inline code (no mention, no broken code span)."""
    return "`" + escape(status).replace("`", "'") + "`"


def notice_reactivated(*, name: str) -> dict[str, Any]:
    return message(
        f":arrow_forward: `{escape(name)}` was reactivated on the Exalate node: it is active again."
    )


def dm_reactivated(*, name: str) -> dict[str, Any]:
    return message(
        f":arrow_forward: `{escape(name)}` was reactivated on the Exalate node: it syncs again."
    )


def notice_node_status(*, name: str, status: str, state: str) -> dict[str, Any]:
    """A status the bot has no move for (one it doesn't know, or a known one out of turn):
    shown as the node gives it; the bot's own state stays."""
    return message(
        f":grey_question: `{escape(name)}` is now {shown_status(status)} on the Exalate node. "
        f"The bot has no step for that status: here it stays {state.capitalize()}, and the "
        "bot keeps following the connection."
    )


def notice_node_agrees(*, name: str, status: str) -> dict[str, Any]:
    """The node says again what the bot's state says, after a status shown as it came."""
    return message(
        f":ballot_box_with_check: `{escape(name)}` is {shown_status(status)} on the Exalate "
        "node again."
    )
