"""`/exalate …`: parse the subcommand, check who asks, hand over to bot/. Every reply is
ephemeral."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.commands import (
    ACCEPT_IN_CONSOLE,
    CANCEL_CONFIRM_ACTION,
    CANCEL_KEEP_ACTION,
    LIST_PAGE_ACTION,
    build_cancel_question,
    help_text,
)
from bot.connect import open_wizard
from bot.invitations import messages as m
from bot.invitations.errors import Refused
from bot.invitations.service import Invitations
from bot.invitations.views import build_accept_view
from bot.operations import Operations
from bot.permissions import CannotCheck
from bot.services import Services
from bot.slack.listeners import tracked
from bot.slack.payloads import clean_command_text, parse_id
from bot.slack.text import escape

log = logging.getLogger(__name__)

DATABASE_AWAY = ":warning: I couldn't reach my database just now; please try again in a moment."

ADMIN_COMMANDS = {
    "connect": "start a connection",
    "list": "list connections",
    "status": "see a connection's status",
    "resend": "resend invitations",
    "cancel": "cancel invitations",
}


def register(app: AsyncApp) -> None:
    app.command("/exalate")(tracked(exalate))
    app.action(re.compile(f"^{LIST_PAGE_ACTION}_"))(tracked(list_page))
    app.action(CANCEL_CONFIRM_ACTION)(tracked(cancel_confirmed))
    app.action(CANCEL_KEEP_ACTION)(tracked(cancel_kept))


def _ephemeral(message: dict[str, Any] | str) -> dict[str, Any]:
    body = {"text": message} if isinstance(message, str) else dict(message)
    return body | {"response_type": "ephemeral"}


async def exalate(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    services: Services = context["services"]
    words = clean_command_text(command.get("text") or "").split(maxsplit=1)
    name = words[0].lower() if words else ""
    rest = words[1] if len(words) > 1 else ""
    user_id, team_id = command.get("user_id"), context.team_id or command.get("team_id", "")
    if not user_id:
        await ack(**_ephemeral("I can't tell who is asking; try again from Slack."))
        return
    if name == "accept":  # for partners: anyone may open it; the code decides
        if not services.backend.can_redeem:
            await ack(**_ephemeral(ACCEPT_IN_CONSOLE))
            return
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=build_accept_view())
        return
    if name not in ADMIN_COMMANDS:
        await ack(**_ephemeral(help_text(services.permissions.who_may_initiate())))
        return
    try:
        allowed = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    except CannotCheck as trouble:
        await ack(**_ephemeral(str(trouble)))
        return
    if not allowed:
        await ack(**_ephemeral(services.permissions.refusal(ADMIN_COMMANDS[name])))
        return
    if name == "connect":
        await ack()
        await open_wizard(services, client, respond, command["trigger_id"], team_id, user_id)
        return
    if name == "resend":  # slow work (a fresh code, the DM): after the ack
        await ack()
        await respond(**_ephemeral(await _resend(services, rest, team_id, user_id)))
        return
    try:
        reply = await _admin_command(services, name, rest, team_id)
    except Refused as refused:
        reply = {"text": str(refused)}
    except (SQLAlchemyError, OSError) as exc:  # answered in the ack: say so, not a 500
        log.warning("/exalate %s: database unavailable: %s", name, type(exc).__name__)
        reply = {"text": DATABASE_AWAY}
    await ack(**_ephemeral(reply))


async def _admin_command(services: Services, name: str, rest: str, team_id: str) -> dict[str, Any]:
    """list, status and cancel's question: quick database reads, answered in the ack."""
    operations = Operations(services)
    if name == "list":
        return await operations.list(team_id=team_id, which=rest.strip() or "all")
    if name == "status":
        return await operations.status(team_id=team_id, name=rest)
    connection = await operations.find(team_id=team_id, name=rest)
    if connection.status not in ("PENDING", "EXPIRED"):
        raise Refused(
            f"`{connection.name}` is {connection.status.lower()}; only a pending or expired "
            "invitation can be cancelled."
        )
    return build_cancel_question(connection_id=connection.id or 0, name=connection.name)


async def _resend(services: Services, name: str, team_id: str, user_id: str) -> dict[str, Any]:
    invitations = Invitations(services)
    try:
        connection = await Operations(services).find(team_id=team_id, name=name)
        outbox = await invitations.resend(
            connection_id=connection.id or 0, user_id=user_id, team_id=team_id
        )
    except Refused as refused:
        return {"text": str(refused)}
    await invitations.courier.run(ids=outbox)
    partner, name = connection.partner_user_id, escape(connection.name)
    return {
        "text": f":incoming_envelope: Resent `{name}` to <@{partner}> with a fresh code; the old "
        "code no longer works and the reminders start over."
    }


async def list_page(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    services: Services = context["services"]
    user_id, team_id = body["user"]["id"], context.team_id or ""
    if not await services.permissions.is_admin(client, team_id=team_id, user_id=user_id):
        await respond(text=services.permissions.refusal("list connections"), replace_original=False)
        return
    try:
        wanted = json.loads(body["actions"][0].get("value") or "{}")
        which, offset = str(wanted.get("filter", "all")), int(wanted.get("offset", 0))
    except (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError):
        which, offset = "all", 0
    offset = min(max(offset, 0), 10**6)
    page = await Operations(services).list(team_id=team_id, which=which, offset=offset)
    await respond(**page, replace_original=True)


async def cancel_confirmed(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    services: Services = context["services"]
    user_id, team_id = body["user"]["id"], context.team_id or ""
    if not await services.permissions.is_admin(client, team_id=team_id, user_id=user_id):
        await respond(
            text=services.permissions.refusal("cancel invitations"), replace_original=False
        )
        return
    actions = body.get("actions") or [{}]
    connection_id = parse_id(actions[0].get("value") if isinstance(actions[0], dict) else None)
    invitations = Invitations(services)
    try:
        outbox = await invitations.cancel(
            connection_id=connection_id or 0, user_id=user_id, team_id=team_id
        )
    except Refused as refused:
        await respond(text=str(refused), replace_original=True)
        return
    await invitations.courier.run(ids=outbox)
    await respond(text=m.cancelled_text(services.backend), replace_original=True)


async def cancel_kept(ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond) -> None:
    await ack()
    await respond(text="Kept: nothing changed.", replace_original=True)
