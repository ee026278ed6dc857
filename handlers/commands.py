"""`/exalate …` and the buttons of its replies: read the payload, hand over to
bot/commands/route.py, acknowledge, respond. Every reply is ephemeral."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import route, texts
from bot.commands.ids import CommandId
from bot.slack.listeners import tracked
from bot.slack.payloads import clean_command_text, parse_id


def register(app: AsyncApp) -> None:
    app.command("/exalate")(tracked(exalate))
    app.action(re.compile(f"^{CommandId.LIST_PAGE_ACTION}_"))(tracked(list_page))
    app.action(CommandId.CANCEL_CONFIRM_ACTION)(tracked(cancel_confirmed))
    app.action(CommandId.CANCEL_KEEP_ACTION)(tracked(cancel_kept))


def _value(body: dict[str, Any]) -> Any:
    actions = body.get("actions") or [{}]
    return actions[0].get("value") if isinstance(actions[0], dict) else None


async def exalate(
    ack: AsyncAck,
    command: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    words = clean_command_text(command.get("text") or "").split(maxsplit=1)
    answer = await route.exalate(
        context["services"],
        client,
        name=words[0].lower() if words else "",
        rest=words[1] if len(words) > 1 else "",
        user_id=command.get("user_id"),
        team_id=context.team_id or command.get("team_id", ""),
        trigger_id=command.get("trigger_id"),
    )
    await ack(**(answer.reply or {}))
    if answer.later is not None:
        await answer.later(respond)


async def list_page(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    page = await route.list_page(
        context["services"],
        client,
        team_id=context.team_id or "",
        user_id=body["user"]["id"],
        value=_value(body),
    )
    await respond(**page)


async def cancel_confirmed(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    reply = await route.cancel(
        context["services"],
        client,
        team_id=context.team_id or "",
        user_id=body["user"]["id"],
        connection_id=parse_id(_value(body)),
    )
    await respond(**reply)


async def cancel_kept(ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond) -> None:
    await ack()
    await respond(text=texts.KEPT, replace_original=True)
