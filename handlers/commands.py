"""`/exalate …` and the buttons of its replies: take the payload's reading (bot/slack/
reading.py), hand over to bot/commands/route.py, acknowledge, respond. Every reply is
ephemeral; `respond` never raises (bot/slack/middleware.py's SafeRespond)."""

from __future__ import annotations

import re

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import route, texts
from bot.commands.ids import CommandId
from bot.slack.listeners import tracked
from bot.slack.payloads import clean_command_text, parse_id
from bot.slack.reading import BlockActions, Command, reading


def register(app: AsyncApp) -> None:
    app.command("/exalate")(tracked(exalate))
    app.action(re.compile(f"^{CommandId.LIST_PAGE_ACTION}_"))(tracked(list_page))
    app.action(CommandId.CANCEL_CONFIRM_ACTION)(tracked(cancel_confirmed))
    app.action(CommandId.CANCEL_KEEP_ACTION)(tracked(cancel_kept))


async def exalate(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    command = reading(context, Command)
    words = clean_command_text(command.text).split(maxsplit=1)
    answer = await route.exalate(
        context["services"],
        client,
        name=words[0].lower() if words else "",
        rest=words[1] if len(words) > 1 else "",
        user_id=command.user_id,
        team_id=command.team_id,
        trigger_id=command.trigger_id,
    )
    await ack(**(answer.reply or {}))
    if answer.later is not None:
        await answer.later(respond)


async def list_page(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    await ack()
    clicked = reading(context, BlockActions)
    page = await route.list_page(
        context["services"],
        client,
        team_id=clicked.team_id,
        user_id=clicked.user_id,
        value=clicked.action.value,
    )
    await respond(**page)


async def cancel_confirmed(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    await ack()
    clicked = reading(context, BlockActions)
    reply = await route.cancel(
        context["services"],
        client,
        team_id=clicked.team_id,
        user_id=clicked.user_id,
        connection_id=parse_id(clicked.action.value),
    )
    await respond(**reply)


async def cancel_kept(ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond) -> None:
    await ack()
    await respond(text=texts.KEPT, replace_original=True)
