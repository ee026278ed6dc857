"""The approvers' buttons and modal (EXALATE_APPROVERS): Approve, Reject (asks a reason)."""

from __future__ import annotations

import logging

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals import texts
from bot.approvals.flow import Approvals
from bot.approvals.ids import ApprovalIds as Ids
from bot.approvals.messages import build_reject_view
from bot.invitations.errors import Refused
from bot.invitations.views import metadata_id
from bot.services import Services
from bot.slack.blocks import build_message_view
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.slack.listeners import tracked
from bot.slack.payloads import parse_id, read_state
from bot.slack.reading import UNREADABLE, BlockActions, ViewSubmission, reading
from bot.slack.refusals import could_not_open
from bot.slack.text import check_text

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.action(Ids.APPROVE)(tracked(approve_clicked))
    app.action(Ids.REJECT)(tracked(reject_clicked))
    app.view_submission(Ids.REJECT_VIEW)(tracked(reject_submitted))


async def _say(respond: AsyncRespond, text: str) -> None:
    await respond(text=text, response_type="ephemeral", replace_original=False)


async def approve_clicked(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    """The slow part (the node makes the code) after the ack; the approver is told."""
    await ack()
    services: Services = context["services"]
    clicked = reading(context, BlockActions)
    try:
        outbox = await Approvals(services).approve(
            client,
            approval_id=parse_id(clicked.action.value or "") or 0,
            user_id=clicked.user_id,
            team_id=clicked.team_id,
        )
    except Refused as refused:
        await _say(respond, str(refused))
        return
    await _say(respond, texts.APPROVED)
    await services.deliver(outbox)


async def reject_clicked(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    """The reason's modal, for someone who may reject it now; anyone else is told why not."""
    await ack()
    clicked = reading(context, BlockActions)
    approval_id = parse_id(clicked.action.value or "") or 0
    try:
        _, connection = await Approvals(context["services"]).check(
            client, approval_id=approval_id, user_id=clicked.user_id, team_id=clicked.team_id
        )
    except Refused as refused:
        await _say(respond, str(refused))
        return
    if clicked.trigger_id is None:
        await _say(respond, UNREADABLE)
        return
    view = build_reject_view(approval_id=approval_id, connection_name=connection.name)
    try:
        await client.views_open(trigger_id=clicked.trigger_id, view=view)
    except SLACK_FAILURES as exc:
        log.warning("views.open for Reject failed: %s", slack_error(exc))
        again = "click *Reject* again"
        await _say(respond, could_not_open(exc, what="the Reject form", again=again))


async def reject_submitted(
    ack: AsyncAck, client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    submitted = reading(context, ViewSubmission)
    reason, error = check_text(read_state(submitted.view.values).get(Ids.REASON))
    if error or not reason:
        await ack(response_action="errors", errors={Ids.REASON: error or texts.REASON_NEEDED})
        return
    services: Services = context["services"]
    try:
        outbox = await Approvals(services).reject(
            client,
            approval_id=metadata_id(submitted.view.as_dict(), "approval") or 0,
            user_id=submitted.user_id,
            team_id=submitted.team_id,
            reason=reason,
        )
    except Refused as refused:
        await ack(response_action="errors", errors={Ids.REASON: str(refused)})
        return
    done = build_message_view(texts.REJECTED_TITLE, texts.REJECTED)
    await ack(response_action="update", view=done)
    await services.deliver(outbox)
