"""The App Home tab: published when opened, and its buttons (start the wizard, remind now)."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.home import route
from bot.home.ids import HomeId
from bot.slack.listeners import tracked
from bot.slack.payloads import parse_id
from bot.slack.reading import BlockActions, Event, reading


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(tracked(home_opened))
    app.action(HomeId.CONNECT_ACTION)(tracked(connect_clicked))
    app.action(HomeId.REMIND_ACTION)(tracked(remind_clicked))


async def home_opened(client: AsyncWebClient, context: AsyncBoltContext) -> None:
    event = reading(context, Event)
    if event.event.tab not in (None, "home"):
        return  # the Messages tab
    if event.user_id is None:
        return
    await route.opened(context["services"], client, team_id=event.team_id, user_id=event.user_id)


async def connect_clicked(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    await ack()
    clicked = reading(context, BlockActions)
    await route.start_connection(
        context["services"],
        client,
        team_id=clicked.team_id,
        user_id=clicked.user_id,
        trigger_id=clicked.trigger_id,
    )


async def remind_clicked(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    await ack()
    clicked = reading(context, BlockActions)
    await route.remind_now(
        context["services"],
        client,
        team_id=clicked.team_id,
        user_id=clicked.user_id,
        connection_id=parse_id(clicked.action.value),
    )
