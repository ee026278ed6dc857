"""The App Home tab: published when opened, and its buttons (start the wizard, remind now)."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.home import route
from bot.home.ids import HomeId
from bot.slack.listeners import tracked
from bot.slack.payloads import parse_id


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(tracked(home_opened))
    app.action(HomeId.CONNECT_ACTION)(tracked(connect_clicked))
    app.action(HomeId.REMIND_ACTION)(tracked(remind_clicked))


async def home_opened(
    event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("tab") not in (None, "home"):
        return  # the Messages tab
    user_id, team_id = event.get("user"), context.team_id or ""
    if not isinstance(user_id, str) or not user_id:
        return
    await route.opened(context["services"], client, team_id=team_id, user_id=user_id)


async def connect_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    await route.start_connection(
        context["services"],
        client,
        team_id=context.team_id or "",
        user_id=body["user"]["id"],
        trigger_id=body.get("trigger_id"),
    )


async def remind_clicked(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    actions = body.get("actions") or [{}]
    value = actions[0].get("value") if isinstance(actions[0], dict) else None
    await route.remind_now(
        context["services"],
        client,
        team_id=context.team_id or "",
        user_id=body["user"]["id"],
        connection_id=parse_id(value),
    )
