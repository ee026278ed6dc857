"""The connect wizard's modal: step submissions, Back, the project type-ahead, closing."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.listeners import tracked
from bot.slack.reading import BlockActions, Suggestion, ViewClosed, ViewSubmission, reading
from bot.wizard.flow import ConnectWizard
from bot.wizard.ids import WizardId


def register(app: AsyncApp) -> None:
    app.view_submission(WizardId.CALLBACK)(tracked(submit))
    app.view_closed(WizardId.CALLBACK)(tracked(closed))
    app.action(WizardId.BACK)(tracked(back))
    app.options(WizardId.PROJECT)(tracked(project_options))


async def submit(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    submitted = reading(context, ViewSubmission)
    outcome = await ConnectWizard(context["services"]).submit(
        client,
        view=submitted.view.as_dict(),
        team_id=submitted.team_id,
        user_id=submitted.user_id,
    )
    await ack(**outcome.response)
    if outcome.after is not None:
        await outcome.after()


async def back(ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext) -> None:
    await ack()
    clicked = reading(context, BlockActions)
    if clicked.view is None or clicked.view.callback_id != WizardId.CALLBACK:
        return
    await ConnectWizard(context["services"]).back(
        client, view=clicked.view.as_dict(), team_id=clicked.team_id, user_id=clicked.user_id
    )


async def closed(ack: AsyncAck, context: AsyncBoltContext) -> None:
    await ack()
    view_closed = reading(context, ViewClosed)
    await ConnectWizard(context["services"]).closed(
        view=view_closed.view.as_dict(), team_id=view_closed.team_id, user_id=view_closed.user_id
    )


async def project_options(ack: AsyncAck, context: AsyncBoltContext) -> None:
    query = reading(context, Suggestion).value[:100]
    await ack(**await ConnectWizard(context["services"]).project_options(query))
