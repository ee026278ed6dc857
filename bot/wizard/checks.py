"""The wizard's checks that ask someone: the node (its projects, its instance name), the
database (is the name taken?) and Slack (the partner, the notice channel). Each step's check
is named in the step table (steps.py) and returns (answers to keep, errors to show)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.directory import check_notice_channel
from bot.slack.errors import SLACK_FAILURES
from bot.wizard import rules
from bot.wizard.partner import email_answers, find_partner, reach_answers
from bot.wizard.rules import Answers, Errors
from bot.wizard.texts import PARTNER_TWICE, UNREACHABLE_PARTNER, domain_refused, name_in_use
from storage import repo
from storage.db import one_statement

Values = dict[str, Any]


@dataclass(frozen=True)
class Asking:
    """Who submits the step, and whom a check may ask."""

    services: Services
    client: AsyncWebClient
    team_id: str
    user_id: str


async def name_taken(services: Services, *, team_id: str, name: str) -> bool:
    return await repo.connection_name_taken(engine=services.engine, team_id=team_id, name=name)


async def check_destination(
    ask: Asking, values: Values, answers: Answers
) -> tuple[Answers, Errors]:
    update, errors = rules.validate_destination(values)
    if not errors and update["destination"] != answers.get("destination"):
        # a new destination: the modes offered and the derived names change with it
        update |= {
            "mode": None,
            "admin_access": None,
            "remote_short_name": None,
            "connection_name": None,
        }
    return update, errors


async def check_mode(ask: Asking, values: Values, answers: Answers) -> tuple[Answers, Errors]:
    return rules.validate_mode(values, answers)


async def check_info(ask: Asking, values: Values, answers: Answers) -> tuple[Answers, Errors]:
    update, errors = rules.validate_info(values)
    name = update["connection_name"]
    if not errors and await name_taken(ask.services, team_id=ask.team_id, name=name):
        errors["connection_name"] = name_in_use(name)
    return update, errors


async def check_project(ask: Asking, values: Values, answers: Answers) -> tuple[Answers, Errors]:
    key = str(values.get("project_key") or "")
    page = await ask.services.backend.search_projects(key, limit=100) if key else None
    known = {p.key: p.name for p in page.projects} if page else {}
    return rules.validate_project(values, known)


async def check_access(ask: Asking, values: Values, answers: Answers) -> tuple[Answers, Errors]:
    """Basic mode with a URL. Yes: no partner step follows, so the names are derived here,
    from the URL; no: the partner step derives them, as before."""
    update, errors = rules.validate_access(values)
    if not errors and update["admin_access"] == "yes":
        update |= await _basic_mode_names(ask, answers, "")
    return update, errors


async def check_notices(ask: Asking, values: Values, answers: Answers) -> tuple[Answers, Errors]:
    update, errors = rules.validate_notices(values)
    if update["notice_channel"]:
        channel_error = await check_notice_channel(ask.client, update["notice_channel"])
        if channel_error:
            errors["notice_channel"] = channel_error
    return update, errors


async def partner_inputs(services: Services) -> dict[str, Any]:
    """The partner step offers e-mail when SMTP_URL is set."""
    return {"email_on": services.mail_courier is not None}


async def review_inputs(services: Services) -> dict[str, Any]:
    """The review says when an approver decides first (EXALATE_APPROVERS)."""
    return {"approvals": services.approvers is not None}


async def check_partner(ask: Asking, values: Values, answers: Answers) -> tuple[Answers, Errors]:
    update, errors = rules.validate_partner(values)
    email_on = ask.services.mail_courier is not None
    if not email_on:  # no e-mail without SMTP_URL, whatever a forged payload says
        update |= {"partner_how": "slack", "partner_zone": None}
    if update["partner_user_id"] and update["partner_email"]:
        errors.setdefault("partner_email", PARTNER_TWICE)
    domains = ask.services.settings.exalate_partner_domains
    typed = update["partner_email"]
    if typed and not rules.domain_allowed(typed, domains):
        errors["partner_email"] = domain_refused(domains, typed)
    if errors:
        return update, errors
    channel = update["notice_channel"]
    wrong_channel = await check_notice_channel(ask.client, channel) if channel else None
    errors = {"notice_channel": wrong_channel} if wrong_channel else {}
    if update["partner_how"] == "email":  # the admin chose e-mail: Slack isn't asked
        if errors:
            return update, errors
        return update | await _by_email(ask, update, answers, update["partner_email"], None), {}
    field = "partner_user_id" if update["partner_user_id"] else "partner_email"
    reach, error = await find_partner(
        ask.client,
        ask.services.workspaces,
        team_id=ask.team_id,
        admin_user_id=ask.user_id,
        user_id=update["partner_user_id"],
        email=update["partner_email"],
        email_on=email_on,
    )
    if error or reach is None:
        return update, {**errors, field: error or UNREACHABLE_PARTNER}
    if errors:
        return update, errors
    found = reach.partner.email if reach.partner else None
    if not typed and not rules.domain_allowed(found, domains):  # the profile's address
        return update, {**errors, field: domain_refused(domains, found)}
    if email_on and reach.team_id is None and (update["partner_email"] or found):
        address = update["partner_email"] or found or ""
        return update | await _by_email(ask, update, answers, address, reach.refused), {}
    crossing = reach.team_id != ask.team_id or (
        reach.partner is not None and reach.partner.team_id not in ("", ask.team_id)
    )
    admin = await _who_asks(ask) if crossing else Admin("", "", "", None)
    update |= reach_answers(
        reach,
        email=update["partner_email"],
        elsewhere=crossing,
        admin=admin.name,
        team_name=admin.team_name,
    )
    handle = reach.partner.name if reach.partner else update["partner_name"]
    if answers.get("mode") == "basic":
        hint = (update["partner_email"] or "").partition("@")[2].split(".")[0] or handle
        update |= await _basic_mode_names(ask, answers, hint)
    return update, errors


async def _by_email(
    ask: Asking, update: Answers, answers: Answers, address: str, refused: str | None
) -> Answers:
    """A partner reached by e-mail: their zone (typed, else the admin's), the admin's name
    and address for the e-mails, and Basic mode's names from the address's domain."""
    admin = await _who_asks(ask)
    zone = update.get("partner_zone") or admin.tz or "UTC"
    said = email_answers(
        address,
        zone=zone,
        refused=refused,
        admin=admin.name,
        team_name=admin.team_name,
        admin_email=admin.email,
    )
    if answers.get("mode") == "basic":
        said |= await _basic_mode_names(ask, answers, address.partition("@")[2].split(".")[0])
    return said


@dataclass(frozen=True)
class Admin:
    """The admin who asks, as the other side reads them."""

    name: str
    team_name: str
    email: str  # their profile's ("" unknown): the e-mails' Reply-To
    tz: str | None


async def _who_asks(ask: Asking) -> Admin:
    """The admin's name, address and zone, and their workspace's name, for the partner's
    Slack (or e-mail) where a mention of them shows nothing."""
    try:
        user = (await ask.client.users_info(user=ask.user_id))["user"]
    except SLACK_FAILURES:
        user = {}
    profile = user.get("profile") or {}
    name = str(profile.get("real_name") or user.get("real_name") or "")
    workspaces = ask.services.workspaces
    names = await workspaces.names([ask.team_id]) if workspaces is not None else {}
    return Admin(
        name=name or "An Exalate admin",
        team_name=names.get(ask.team_id, ""),
        email=str(profile.get("email") or ""),
        tz=str(user["tz"]) if user.get("tz") else None,
    )


async def _basic_mode_names(ask: Asking, answers: Answers, hint: str) -> Answers:
    """Basic mode asks no names: derive them, and number the connection's if it is taken."""
    backend = ask.services.backend
    names = rules.basic_mode_names(answers, local=await backend.instance_name(), partner_hint=hint)
    async with one_statement(ask.services.sessions, writes=False) as session:
        taken = await repo.connection_names_with_prefix(
            session=session, team_id=ask.team_id, prefix=names["connection_name"]
        )
    names["connection_name"] = rules.unique_name(names["connection_name"], taken)
    return names


async def project_inputs(services: Services) -> dict[str, Any]:
    """What the project step's view lists: the node's first 100 projects, and how many."""
    page = await services.backend.search_projects("", limit=100)
    # an incomplete list can't be a static select: offer the type-ahead
    return {"projects": page.projects, "total_projects": page.total if page.complete else 10**6}
