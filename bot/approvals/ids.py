"""The approvals' Slack ids (kept: Slack keeps old messages with old ids)."""

from __future__ import annotations

from enum import StrEnum


class ApprovalIds(StrEnum):
    APPROVE = "approval_approve"  # the button's value: the approval's id
    REJECT = "approval_reject"
    REJECT_VIEW = "approval_reject_view"  # the modal asking the reason
    REASON = "reason"
