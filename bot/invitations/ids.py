"""The ids Slack sends back from an invitation's messages and the partner's modals. Their
values are what old messages in Slack still carry: never change them."""

from __future__ import annotations

from enum import StrEnum


class InvitationIds(StrEnum):
    # the invitation and reminder DMs' buttons (the partner's), and the Home tab's
    ACCEPT = "partner_accept"
    SNOOZE_DAY = "partner_snooze_day"
    SNOOZE_MONDAY = "partner_snooze_monday"
    DECLINE = "partner_decline"
    # the escalation and expiry DMs' buttons (the admin's), and the Home tab's
    RESEND = "admin_resend"
    CANCEL = "admin_cancel"
    # the admin's DM about a connection without a code (embedded node): they accepted it on
    # the destination themselves
    ACCEPTED_ON_DESTINATION = "admin_accepted_on_destination"
    # the partner's modals
    ACCEPT_VIEW = "exalate_accept"
    DECLINE_VIEW = "exalate_decline"
    # the modals' inputs (block id = action id)
    CODE = "code"
    PARTNER_PROJECT = "partner_project"
    REASON = "reason"
