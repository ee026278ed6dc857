"""The wizard's Slack ids: its callback id, its actions, and the block ids it reads back.

Slack keeps old views with old ids, so these values never change. Every input block's
block_id (and its element's action_id) is the answer's key in the answers dict."""

from __future__ import annotations

from enum import StrEnum


class WizardId(StrEnum):
    CALLBACK = "exalate_wizard"  # every view of the wizard, result and message views too
    BACK = "wizard_back"  # the Back button's action
    NAV_BLOCK = "wizard_nav"  # the actions block holding Back
    # input blocks, named for the answer each holds
    DESTINATION = "destination"
    DESTINATION_URL = "destination_url"
    MODE = "mode"
    ADMIN_ACCESS = "admin_access"  # Basic mode with a URL: admin access to the destination?
    LOCAL_SHORT_NAME = "local_short_name"
    REMOTE_SHORT_NAME = "remote_short_name"
    CONNECTION_NAME = "connection_name"
    DESCRIPTION = "description"
    PROJECT = "project_key"  # also the type-ahead's action (block_suggestion)
    PARTNER_USER = "partner_user_id"
    PARTNER_EMAIL = "partner_email"
    PARTNER_HOW = "partner_how"  # with SMTP_URL: in Slack (e-mail where it can't), or e-mail
    PARTNER_ZONE = "partner_zone"  # the e-mailed partner's time zone, as typed
    NOTICE_CHANNEL = "notice_channel"
    NOTE = "note"
    CODE = "code"  # the invitation code pasted from the console (a node without initiate)
