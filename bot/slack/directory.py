"""Who and where, asked of Slack: resolving the partner and checking the notice channel.

Each check returns a message for the field it concerns (the wizard shows it inline) or None.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import SLACK_FAILURES, slack_error

log = logging.getLogger(__name__)

SLACK_TROUBLE = "Slack did not answer just now; try again in a moment."
GONE_USER = "That user is not in this workspace any more."
NO_SUCH_EMAIL = "No Slack user has that e-mail address; choose the partner above."
NOT_FOUND = frozenset({GONE_USER, NO_SUCH_EMAIL})
# conversations.open's answers when Slack won't let the bot DM someone (Slack Connect)
DM_REFUSALS = frozenset(
    {"user_not_visible", "invalid_user_combination", "cannot_dm_bot", "user_disabled"}
)


@dataclass(frozen=True)
class Partner:
    user_id: str
    team_id: str
    name: str
    tz: str | None
    email: str | None = None
    full_name: str | None = None  # their real name: how another company knows them


def _user_name(user: dict[str, Any]) -> str:
    profile = user.get("profile") or {}
    return str(
        profile.get("display_name")
        or profile.get("real_name")
        or user.get("real_name")
        or user.get("name")
        or user.get("id")
    )


async def resolve_partner(
    client: AsyncWebClient,
    *,
    user_id: str | None,
    email: str | None,
    admin_user_id: str,
) -> tuple[Partner | None, str | None]:
    """The partner as a Slack user, from a user id or an e-mail address; or why not."""
    try:
        if user_id:
            user = (await client.users_info(user=user_id))["user"]
        else:
            user = (await client.users_lookupByEmail(email=email or ""))["user"]
    except SLACK_FAILURES as exc:
        error = slack_error(exc)
        if error in ("users_not_found", "user_not_found"):
            return None, GONE_USER if user_id else NO_SUCH_EMAIL
        log.warning("partner lookup failed: %s", error)
        return None, SLACK_TROUBLE
    if user.get("is_bot") or user.get("id") == "USLACKBOT":
        return None, "That is a bot; choose the person who accepts the invitation."
    if user.get("deleted"):
        return None, "That account is deactivated; choose someone active."
    if user.get("id") == admin_user_id:
        return None, "That is you; choose the partner on the other side."
    partner = Partner(
        user_id=str(user["id"]),
        team_id=str(user.get("team_id") or ""),
        name=_user_name(user),
        tz=user.get("tz"),
        email=(user.get("profile") or {}).get("email") or email,
        full_name=(user.get("profile") or {}).get("real_name") or user.get("real_name"),
    )
    return partner, None


async def dm_refused(client: AsyncWebClient, user_id: str) -> str | None:
    """Slack's reason if it won't let the bot DM `user_id` (a Slack Connect member whose
    organisation doesn't allow it); None if the DM opens, or if Slack didn't answer (the
    outbox tries again later)."""
    try:
        await client.conversations_open(users=user_id)
    except SLACK_FAILURES as exc:
        error = slack_error(exc)
        return error if error in DM_REFUSALS else None
    return None


async def check_notice_channel(client: AsyncWebClient, channel_id: str) -> str | None:
    """None when the bot can post notices there; otherwise what to do about it."""
    try:
        channel = (await client.conversations_info(channel=channel_id))["channel"]
    except SLACK_FAILURES as exc:
        error = slack_error(exc)
        if error in ("channel_not_found", "not_in_channel"):
            return "I can't see that channel: add the Exalate app to it, or choose another."
        log.warning("channel check failed: %s", error)
        return SLACK_TROUBLE
    if channel.get("is_archived"):
        return "That channel is archived; choose another."
    if channel.get("is_im") or channel.get("is_mpim"):
        return "Choose a channel, not a direct message."
    if channel.get("is_private") and not channel.get("is_member"):
        return "Add the Exalate app to that private channel first, or choose another."
    return None
