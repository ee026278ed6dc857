"""`/exalate …`: parse the subcommand, check who asks, hand over to bot/."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import ACCEPT_IN_CONSOLE, help_text
from bot.connect import ConnectWizard
from bot.services import Services
from bot.views import build_accept_view
from handlers.inflight import tracked

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.command("/exalate")(tracked(exalate))


async def exalate(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    services: Services = context["services"]
    subcommand = (command.get("text") or "").strip().split(maxsplit=1)
    name = subcommand[0].lower() if subcommand else ""
    user_id, team_id = command["user_id"], context.team_id or command.get("team_id", "")
    if name == "accept":  # for partners: anyone may open it; the code decides
        if not services.backend.can_redeem:
            await ack(text=ACCEPT_IN_CONSOLE, response_type="ephemeral")
            return
        await ack()
        await client.views_open(trigger_id=command["trigger_id"], view=build_accept_view())
        return
    if name != "connect":
        await ack(
            text=help_text(services.permissions.who_may_initiate()), response_type="ephemeral"
        )
        return
    if not await services.permissions.is_admin(client, team_id=team_id, user_id=user_id):
        await ack(
            text=services.permissions.refusal("start a connection"), response_type="ephemeral"
        )
        return
    await ack()
    try:
        await ConnectWizard(services).open(
            client, trigger_id=command["trigger_id"], team_id=team_id, user_id=user_id
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        log.warning("views.open for the wizard failed: %s", error)
        await respond(
            text=f":warning: I couldn't open the wizard (`{error}`). Try `/exalate connect` again.",
            response_type="ephemeral",
        )
