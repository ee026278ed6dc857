"""The App Home tab: published when opened, and its buttons (start the wizard, remind now)."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.connect import open_wizard
from bot.home import CONNECT_ACTION, REMIND_ACTION, Home
from bot.invitations.errors import Refused
from bot.invitations.service import Invitations
from bot.services import Services
from bot.slack.listeners import tracked
from bot.slack.payloads import parse_id


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(tracked(home_opened))
    app.action(CONNECT_ACTION)(tracked(connect_clicked))
    app.action(REMIND_ACTION)(tracked(remind_clicked))


async def home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("tab") not in (None, "home"):
        return  # the Messages tab
    services: Services = context["services"]
    user_id, team_id = event.get("user"), context.team_id or ""
    if not isinstance(user_id, str) or not user_id:
        return
    is_admin = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    await Home(services).opened(team_id=team_id, user_id=user_id, is_admin=is_admin)


async def _admin(
    body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext, what: str
) -> tuple[Services, str, str, bool]:
    services: Services = context["services"]
    user_id, team_id = body["user"]["id"], context.team_id or ""
    allowed = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    if not allowed:
        await Home(services).publish(
            team_id=team_id,
            user_id=user_id,
            is_admin=False,
            banner=services.permissions.refusal(what),
        )
    return services, user_id, team_id, allowed


async def connect_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    services, user_id, team_id, allowed = await _admin(body, client, context, "start a connection")
    if allowed:
        await open_wizard(services, client, None, body["trigger_id"], team_id, user_id)


async def remind_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    services, user_id, team_id, allowed = await _admin(body, client, context, "send reminders")
    if not allowed:
        return
    actions = body.get("actions") or [{}]
    connection_id = parse_id(actions[0].get("value") if isinstance(actions[0], dict) else None)
    invitations = Invitations(services)
    try:
        outbox = await invitations.remind_now(
            connection_id=connection_id or 0, user_id=user_id, team_id=team_id
        )
        await invitations.courier.run(ids=outbox)
        banner = ":bell: Reminder sent."
    except Refused as refused:
        banner = str(refused)
    await Home(services).publish(team_id=team_id, user_id=user_id, is_admin=True, banner=banner)
