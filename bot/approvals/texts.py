"""What the approvals say, in one place."""

from __future__ import annotations

from bot.slack.text import escape

NOT_FOUND = "That request for approval no longer exists."
OWN_REQUEST = ":no_entry: You asked for this one: another approver has to decide it (four eyes)."
NO_OTHER_APPROVER = (
    "No one else can approve this: EXALATE_APPROVERS names nobody but you. Ask the bot's "
    "operator to add another approver."
)
REASON_NEEDED = "Say briefly why, so the admin who asked knows what to change."
REJECTED_TITLE = "Rejected"
REJECTED = "Rejected: the admin who asked is told why; nothing went to the partner."
APPROVED = ":white_check_mark: Approved: the invitation is on its way to the partner."


def not_an_approver(approvers: str) -> str:
    return f":lock: Only the approvers can decide this: {approvers}."


def decided(state: str, by: str | None) -> str:
    """The answer to a click on a request decided already."""
    if state == "EXPIRED":
        return ":hourglass: That request expired unanswered: nothing can be decided any more."
    verb = {"APPROVED": "approved", "REJECTED": "rejected"}.get(state, state.lower())
    return f"Already {verb} by <@{by}>: the first decision stands." if by else f"Already {verb}."


def node_failed(error: object) -> str:
    return (
        f":warning: The Exalate node couldn't make the invitation ({escape(str(error))}). "
        "Nothing was sent and the request waits again: approve it once the node is back."
    )


def sent_for_approval(approvers: list[str]) -> str:
    names = ", ".join(f"<@{a}>" for a in approvers)
    return (
        f":hourglass_flowing_sand: Sent for approval to {names}. The invitation goes to the "
        "partner once one of them approves; you'll get a DM either way."
    )
