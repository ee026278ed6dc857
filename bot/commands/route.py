"""Which `/exalate` subcommand does what, for whom, and what the reply says; and the buttons
of the commands' replies (list pages, cancel's question). The listeners
(handlers/commands.py) read the payload, call these, acknowledge and respond."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.commands import texts
from bot.commands.operations import Operations
from bot.commands.views import build_cancel_question
from bot.export import texts as export_texts
from bot.export.flow import export
from bot.export.rows import days_asked
from bot.invitations import messages as m
from bot.invitations.errors import Refused
from bot.invitations.people import partner_for_admin
from bot.invitations.service import Invitations
from bot.invitations.views import build_accept_view
from bot.permissions import CannotCheck
from bot.report.report import report
from bot.services import Services
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.slack.reading import UNREADABLE
from bot.slack.refusals import could_not_open
from bot.slack.text import escape
from bot.wizard.flow import open_wizard

log = logging.getLogger(__name__)

Respond = Callable[..., Awaitable[Any]]
Later = Callable[[Respond], Awaitable[None]]


@dataclass(frozen=True)
class Answer:
    """What the command's acknowledgement carries (None: a bare ack), and the slow part that
    follows it, given the command's `respond`."""

    reply: dict[str, Any] | None = None
    later: Later | None = None


def ephemeral(message: dict[str, Any] | str) -> dict[str, Any]:
    body = {"text": message} if isinstance(message, str) else dict(message)
    return body | {"response_type": "ephemeral"}


async def exalate(
    services: Services,
    client: AsyncWebClient,
    *,
    name: str,
    rest: str,
    user_id: str | None,
    team_id: str,
    trigger_id: str | None,
) -> Answer:
    """`/exalate <name> <rest>`: every reply is ephemeral; quick ones go in the ack."""
    if not user_id:
        return Answer(ephemeral(texts.WHO_ASKS))
    if name == "accept":  # for partners: anyone may open it; the code decides
        if not services.backend.can_redeem:
            return Answer(ephemeral(texts.ACCEPT_IN_CONSOLE))
        if trigger_id is None:  # Slack sends one with every command: a modal needs it
            return Answer(ephemeral(UNREADABLE))
        opening = trigger_id

        async def accept(respond: Respond) -> None:
            try:
                await client.views_open(trigger_id=opening, view=build_accept_view())
            except SLACK_FAILURES as exc:  # an expired trigger happens in normal use
                log.warning("views.open for /exalate accept failed: %s", slack_error(exc))
                again = "run `/exalate accept` again"
                text = could_not_open(exc, what="the Accept form", again=again)
                await respond(**ephemeral(text))

        return Answer(later=accept)
    if name not in texts.ADMIN_COMMANDS:
        return Answer(ephemeral(texts.help_text(services.permissions.who_may_initiate())))
    try:
        allowed = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    except CannotCheck as trouble:
        return Answer(ephemeral(str(trouble)))
    if not allowed:
        return Answer(ephemeral(services.permissions.refusal(texts.ADMIN_COMMANDS[name])))
    if name == "connect":
        if trigger_id is None:
            return Answer(ephemeral(UNREADABLE))
        opening = trigger_id

        async def connect(respond: Respond) -> None:
            await open_wizard(services, client, respond, opening, team_id, user_id)

        return Answer(later=connect)
    if name == "resend":  # slow work (a fresh code, the DM): after the ack

        async def resend(respond: Respond) -> None:
            await respond(**ephemeral(await _resend(services, rest, team_id, user_id)))

        return Answer(later=resend)
    if name == "export":
        return _export(services, client, rest, team_id, user_id)
    try:
        reply = await _admin_command(services, name, rest, team_id)
    except Refused as refused:
        reply = {"text": str(refused)}
    except (SQLAlchemyError, OSError) as exc:  # answered in the ack: say so, not a 500
        log.warning("/exalate %s: database unavailable: %s", name, type(exc).__name__)
        reply = {"text": texts.DATABASE_AWAY}
    return Answer(ephemeral(reply))


async def _admin_command(services: Services, name: str, rest: str, team_id: str) -> dict[str, Any]:
    """list, status, report and cancel's question: quick database reads, answered in the ack."""
    if name == "report":
        return await report(services, team_id=team_id)
    operations = Operations(services)
    if name == "list":
        return await operations.list(team_id=team_id, which=rest.strip() or "all")
    if name == "status":
        return await operations.status(team_id=team_id, name=rest)
    connection = await operations.find(team_id=team_id, name=rest)
    if connection.status not in ("PENDING", "EXPIRED"):
        raise Refused(texts.cannot_cancel(connection.name, connection.status))
    return build_cancel_question(connection_id=connection.id or 0, name=connection.name)


def _export(
    services: Services, client: AsyncWebClient, rest: str, team_id: str, user_id: str
) -> Answer:
    """The days checked in the ack, which says the export is on its way; the export after."""
    days = days_asked(rest)
    if days is None:
        return Answer(ephemeral(export_texts.BAD_DAYS))
    asked = days

    async def build(respond: Respond) -> None:
        text = await export(services, client, team_id=team_id, user_id=user_id, days=asked)
        await respond(**ephemeral(text))

    return Answer(ephemeral(export_texts.building(days)), later=build)


async def _resend(services: Services, name: str, team_id: str, user_id: str) -> dict[str, Any]:
    invitations = Invitations(services)
    try:
        connection = await Operations(services).find(team_id=team_id, name=name)
        outbox = await invitations.resend(
            connection_id=connection.id or 0, user_id=user_id, team_id=team_id
        )
    except Refused as refused:
        return {"text": str(refused)}
    await services.deliver(outbox)
    return {"text": texts.resent(escape(connection.name), partner_for_admin(connection))}


async def list_page(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, value: Any
) -> dict[str, Any]:
    """Older or Newer under a list: the page, in place of the old one (what to respond)."""
    if not await services.permissions.is_admin(client, team_id=team_id, user_id=user_id):
        refusal = services.permissions.refusal(texts.ADMIN_COMMANDS["list"])
        return {"text": refusal, "replace_original": False}
    try:
        wanted = json.loads(value or "{}")
        which, offset = str(wanted.get("filter", "all")), int(wanted.get("offset", 0))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        which, offset = "all", 0
    offset = min(max(offset, 0), 10**6)
    page = await Operations(services).list(team_id=team_id, which=which, offset=offset)
    return page | {"replace_original": True}


async def cancel(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    connection_id: int | None,
) -> dict[str, Any]:
    """Cancel's question answered yes: the invitation is withdrawn (what to respond)."""
    if not await services.permissions.is_admin(client, team_id=team_id, user_id=user_id):
        refusal = services.permissions.refusal(texts.ADMIN_COMMANDS["cancel"])
        return {"text": refusal, "replace_original": False}
    invitations = Invitations(services)
    try:
        outbox = await invitations.cancel(
            connection_id=connection_id or 0, user_id=user_id, team_id=team_id
        )
    except Refused as refused:
        return {"text": str(refused), "replace_original": True}
    await services.deliver(outbox)
    return {"text": m.cancelled_text(services.backend), "replace_original": True}
