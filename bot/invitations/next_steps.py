"""Block Kit builders for what comes next: after a connection turns Active (each side's sync
rules, a trigger, a first issue to test, where errors show), and, for a connection without an
invitation code, where the admin finishes it (on the destination).

What they say follows Exalate Classic's documentation: each side of a Script connection has
its own outgoing and incoming sync rules (*Connections → Edit connection → Rules*); Basic
mode's rules are fixed until the connection is upgraded to Visual or Script; triggers sync
what matches a search query; errors show on the console's *Errors* tab. Pure functions.
"""

from __future__ import annotations

from typing import Any, Literal

from bot.backend.base import BASIC_RULES, MODES
from bot.invitations.ids import InvitationIds as Ids
from bot.slack.blocks import actions, button, context, message, section
from bot.slack.text import escape

# who reads it: the connection's thread, the admin (this side), the partner (the other
# side), or the admin of a connection without a code (who holds both sides)
Side = Literal["thread", "admin", "partner", "both"]

RULES = "*Connections → Edit connection → Rules*"
SCRIPT_RULES: dict[Side, str] = {
    "thread": (
        f"*Sync rules*: each side edits its own in its Exalate console ({RULES}): "
        "*Outgoing sync* is what that side sends, *Incoming sync* how it applies what it "
        "receives."
    ),
    "admin": (
        f"*Sync rules*: edit this side's in the Exalate console ({RULES}): *Outgoing sync* is "
        "what you send, *Incoming sync* how you apply what you receive. The other side edits "
        "its own."
    ),
    "partner": (
        f"*Sync rules*: edit your side's in your Exalate console ({RULES}): *Outgoing sync* "
        "is what you send, *Incoming sync* how you apply what you receive. The other side "
        "edits its own."
    ),
    "both": (
        f"*Sync rules*: each side has its own ({RULES}, on each side): *Outgoing sync* is "
        "what a side sends, *Incoming sync* how it applies what it receives."
    ),
}
VISUAL_RULES = (
    "*Sync rules*: set what syncs in Visual mode's editor (*Connections → Edit connection*), "
    "for both sides at once: it takes admin access on both."
)
BASIC_FIXED = (
    f"*Sync rules*: Basic mode's are fixed (they sync {', '.join(BASIC_RULES)}). To change "
    "them, upgrade the connection to Visual or Script mode in the Exalate console."
)
TRIGGER = (
    "*A trigger*: add one (the console's *Triggers*) so the issues that match its search "
    "query sync on their own; without one, an issue syncs only when someone exalates it."
)
TEST = "*A first issue*: sync one issue to test it, and check it arrives on the other side."
ERRORS = (
    "*Errors* show on the Exalate console's *Errors* tab; an error in the sync rules pauses "
    "the connection until it is fixed and resumed there."
)


def _rules(mode: str, side: Side) -> str:
    if mode == "basic":
        return BASIC_FIXED
    if mode == "visual":
        return VISUAL_RULES
    return SCRIPT_RULES[side]


def build_next_steps(
    *, name: str, mode: str, side: Side, console_url: str | None = None
) -> dict[str, Any]:
    """What comes after acceptance, for one reader. The console link is this side's node
    (`backend.console_url`), so the partner, on the other side, gets none."""
    shown = escape(name)
    intro = f":compass: *What comes next for `{shown}`* ({MODES.get(mode, escape(mode))} mode)"
    steps = [_rules(mode, side), TRIGGER, TEST, ERRORS]
    blocks = [section(intro), section("\n".join(f"• {step}" for step in steps))]
    if side == "partner":
        blocks.append(context("All of it happens in your own Exalate console."))
    elif console_url:
        blocks.append(context(f"<{console_url}|Open the Exalate console>"))
    return {"text": f"What comes next for {shown}", "blocks": blocks}


# --- a connection without an invitation code -----------------------------------------


def notice_created_without_code(*, name: str, by: str, mode: str) -> dict[str, Any]:
    return message(
        f":construction: `{escape(name)}` created by {by} in {MODES.get(mode, escape(mode))} "
        f"mode, with no invitation code: {by} accepts it on the destination."
    )


def dm_finish_on_destination(
    *, name: str, connection_id: int, console_url: str | None, here: bool
) -> dict[str, Any]:
    """The admin's DM: where to finish it. `here`: the embedded node, which can't see the
    destination, offers the button; a real node reports the connection Active itself."""
    shown = escape(name)
    if here:
        return message(
            f":arrow_right: `{shown}` is Pending, with no invitation code: accept it on the "
            "destination yourself, with your admin access there. Then click the button: the "
            "embedded node can't see the destination, so it takes your word for it.",
            actions(
                f"accepted_{connection_id}",
                button(
                    Ids.ACCEPTED_ON_DESTINATION,
                    "I accepted it on the destination",
                    str(connection_id),
                    "primary",
                ),
            ),
        )
    where = f" (<{console_url}|the Exalate console>)" if console_url else ""
    return message(
        f":arrow_right: `{shown}` is Pending, with no invitation code: finish it on the "
        f"destination{where}. I follow it on the node and tell you when it turns Active."
    )


def active_without_code(*, name: str, after: str) -> dict[str, Any]:
    """The thread's notice and the admin's DM when a connection without a code turns Active."""
    return message(
        f":white_check_mark: `{escape(name)}` is active: accepted on the destination after {after}."
    )
