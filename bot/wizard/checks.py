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
from bot.wizard.partner import find_partner, reach_answers
from bot.wizard.rules import Answers, Errors
from bot.wizard.texts import PARTNER_TWICE, UNREACHABLE_PARTNER, name_in_use
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


async def check_partner(ask: Asking, values: Values, answers: Answers) -> tuple[Answers, Errors]:
    update, errors = rules.validate_partner(values)
    if update["partner_user_id"] and update["partner_email"]:
        errors.setdefault("partner_email", PARTNER_TWICE)
    if errors:
        return update, errors
    field = "partner_user_id" if update["partner_user_id"] else "partner_email"
    reach, error = await find_partner(
        ask.client,
        ask.services.workspaces,
        team_id=ask.team_id,
        admin_user_id=ask.user_id,
        user_id=update["partner_user_id"],
        email=update["partner_email"],
    )
    if error or reach is None:
        errors[field] = error or UNREACHABLE_PARTNER
    if update["notice_channel"]:
        channel_error = await check_notice_channel(ask.client, update["notice_channel"])
        if channel_error:
            errors["notice_channel"] = channel_error
    if errors or reach is None:
        return update, errors
    crossing = reach.team_id != ask.team_id or (
        reach.partner is not None and reach.partner.team_id not in ("", ask.team_id)
    )
    admin, team_name = await _who_asks(ask) if crossing else ("", "")
    update |= reach_answers(
        reach, email=update["partner_email"], elsewhere=crossing, admin=admin, team_name=team_name
    )
    handle = reach.partner.name if reach.partner else update["partner_name"]
    if answers.get("mode") == "basic":
        hint = (update["partner_email"] or "").partition("@")[2].split(".")[0] or handle
        update |= await _basic_mode_names(ask, answers, hint)
    return update, errors


async def _who_asks(ask: Asking) -> tuple[str, str]:
    """The admin's name and their workspace's, for the partner's Slack where a mention of
    them shows nothing."""
    try:
        user = (await ask.client.users_info(user=ask.user_id))["user"]
        name = str((user.get("profile") or {}).get("real_name") or user.get("real_name") or "")
    except SLACK_FAILURES:
        name = ""
    workspaces = ask.services.workspaces
    names = await workspaces.names([ask.team_id]) if workspaces is not None else {}
    return name or "An Exalate admin", names.get(ask.team_id, "")


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
