"""The partner step's search: where the app can reach the partner, in this order.

1. a member of the admin's own workspace;
2. a Slack Connect member who shares a channel with it: their DM is tried at once, and if
   Slack refuses it the admin reads why, and the search goes on;
3. a member of another workspace where the app is installed, by e-mail, with that
   workspace's token (OAuth mode);
4. nowhere (OAuth mode, or any mode with SMTP_URL and an address): by e-mail with SMTP_URL
   (bot/invitations/by_email.py), else the admin passes the code on, and the reminders go to
   them.

What one workspace learns of another: whether an e-mail can be reached there, and the
partner's name.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.installs.workspaces import Workspaces
from bot.slack.directory import NOT_FOUND, Partner, dm_refused, resolve_partner
from bot.wizard.rules import Answers

LOOKUPS_AT_ONCE = 10  # other workspaces asked by e-mail at once


@dataclass(frozen=True)
class Reach:
    partner: Partner | None  # None: Slack reaches them nowhere
    team_id: str | None  # the workspace whose token DMs them
    where: str  # for the review: "in this workspace", "in Globex's Slack"
    refused: str | None = None  # what Slack said when it refused a Slack Connect DM
    company: str | None = None  # the partner's workspace's name, where the app knows it


async def find_partner(
    client: AsyncWebClient,
    workspaces: Workspaces | None,
    *,
    team_id: str,
    admin_user_id: str,
    user_id: str | None,
    email: str | None,
    email_on: bool = False,
) -> tuple[Reach | None, str | None]:
    """Where the partner can be reached (see the module's order), or the error to show.
    `client` is the admin's request's, `team_id` their workspace. `email_on` (SMTP_URL): an
    address Slack reaches nowhere is an answer too (e-mail), in single-token mode as well."""
    partner, error = await resolve_partner(
        client, user_id=user_id, email=email, admin_user_id=admin_user_id
    )
    refused = None
    if partner is not None:
        if not partner.team_id or partner.team_id == team_id:
            return Reach(partner, team_id, "in this workspace"), None
        refused = await dm_refused(client, partner.user_id)
        if refused is None:
            return Reach(partner, team_id, "through a Slack Connect channel"), None
        email = email or partner.email
    elif error not in NOT_FOUND:
        return None, error  # a bot, a deactivated account, yourself, Slack in trouble
    oauth = workspaces is not None and workspaces.oauth
    if not oauth and not (email_on and email):
        if refused is not None:
            return None, f"Slack won't let me DM them through Slack Connect (`{refused}`)."
        return None, error
    if email and workspaces is not None and oauth:
        found = await _by_email(workspaces, await workspaces.others(team_id), email, admin_user_id)
        if found is not None:
            other, member = found
            name = (await workspaces.names([other])).get(other) or "their company"
            return Reach(member, other, f"in {name}'s Slack", refused, name), None
    if partner is None and not email:
        return None, error
    return Reach(partner, None, "nowhere in Slack: you pass the code on", refused), None


async def _by_email(
    workspaces: Workspaces, teams: list[str], email: str, admin_user_id: str
) -> tuple[str, Partner] | None:
    """The first of `teams` (in their order) where `email` is a member, asked of all at once
    (a few at a time): the step answers within Slack's 3 s however many installed it."""
    asking = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def look(team: str) -> Partner | None:
        async with asking:
            client = await workspaces.client(team)
            if client is None:
                return None
            member, _ = await resolve_partner(
                client, user_id=None, email=email, admin_user_id=admin_user_id
            )
            return member

    found = await asyncio.gather(*(look(team) for team in teams))
    return next(((t, m) for t, m in zip(teams, found, strict=True) if m is not None), None)


def email_answers(
    email: str, *, zone: str, refused: str | None, admin: str, team_name: str, admin_email: str
) -> Answers:
    """The answers of a partner reached by e-mail: `zone` their time zone (the one typed, or
    the admin's), `admin_email` the e-mails' Reply-To ("" when the profile has none)."""
    return {
        "partner_user_id": None,
        "partner_team_id": None,
        "partner_name": email,
        "partner_tz": zone,
        "partner_email": email,
        "partner_found_email": None,
        "partner_reach_team_id": None,
        "partner_where": f"by e-mail (reminders in {zone} time)",
        "partner_refused": refused,
        "partner_by_hand": False,
        "partner_by_email": True,
        "partner_elsewhere": True,
        "partner_label": email,
        "initiator_label": f"{admin} ({team_name})" if team_name else admin,
        "initiator_email": admin_email or None,
    }


def reach_answers(
    reach: Reach, *, email: str | None, elsewhere: bool, admin: str, team_name: str
) -> Answers:
    """The answers the partner step keeps: who, where, and how each side is named in the
    other's Slack where a mention shows nothing (bot/invitations/people.py)."""
    partner = reach.partner
    name = (partner.full_name or partner.name if partner else None) or email or "the partner"
    return {
        "partner_user_id": partner.user_id if partner else None,
        "partner_team_id": (partner.team_id if partner else None) or reach.team_id,
        "partner_name": name,
        "partner_tz": partner.tz if partner else None,
        "partner_email": email,  # as typed (the step shows it again on Back)
        "partner_found_email": partner.email if partner else None,  # their profile's
        "partner_reach_team_id": reach.team_id,
        "partner_where": reach.where
        + (
            f" (Slack refused a DM through Slack Connect: `{reach.refused}`)"
            if reach.refused
            else ""
        ),
        "partner_refused": reach.refused,
        "partner_by_hand": reach.team_id is None,
        "partner_by_email": False,
        "partner_elsewhere": elsewhere,  # not a member of the admin's workspace
        "partner_label": f"{name} ({reach.company})" if reach.company else name,
        "initiator_label": f"{admin} ({team_name})" if team_name else admin,
    }
