"""The connect wizard's modal: step submissions, Back, the project type-ahead, closing."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners import tracked
from bot.wizard.flow import ConnectWizard
from bot.wizard.ids import WizardId


def register(app: AsyncApp) -> None:
    app.view_submission(WizardId.CALLBACK)(tracked(submit))
    app.view_closed(WizardId.CALLBACK)(tracked(closed))
    app.action(WizardId.BACK)(tracked(back))
    app.options(WizardId.PROJECT)(tracked(project_options))


def _who(body: dict[str, Any], context: AsyncBoltContext) -> dict[str, str]:
    return {"team_id": context.team_id or "", "user_id": body["user"]["id"]}


async def submit(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
) -> None:
    wizard = ConnectWizard(context["services"])
    outcome = await wizard.submit(client, view=view, **_who(body, context))
    await ack(**outcome.response)
    if outcome.after is not None:
        await outcome.after()


async def back(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    view = body.get("view") or {}
    if view.get("callback_id") != WizardId.CALLBACK:
        return
    await ConnectWizard(context["services"]).back(client, view=view, **_who(body, context))


async def closed(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    view = body.get("view") or {}
    await ConnectWizard(context["services"]).closed(view=view, **_who(body, context))


async def project_options(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    query = str(body.get("value") or "")[:100]
    await ack(**await ConnectWizard(context["services"]).project_options(query))
