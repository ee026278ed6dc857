"""The invitation DM's buttons and modals: Accept, Snooze, Decline (for the invited partner),
the admin's Resend and Cancel (escalation and expiry DMs), and the admin's "I accepted it on
the destination" (a connection without a code, on the embedded node)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.home.flow import Home
from bot.invitations import texts as t
from bot.invitations.errors import Refused
from bot.invitations.ids import InvitationIds as Ids
from bot.invitations.messages import cancelled_text
from bot.invitations.service import Invitations
from bot.invitations.views import build_accept_view, build_decline_view, metadata_id
from bot.permissions import CannotCheck
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
    app.action(Ids.ACCEPT)(tracked(accept_clicked))
    app.action(Ids.DECLINE)(tracked(decline_clicked))
    app.action(Ids.SNOOZE_DAY)(tracked(snooze_clicked))
    app.action(Ids.SNOOZE_MONDAY)(tracked(snooze_clicked))
    app.action(Ids.RESEND)(tracked(resend_clicked))
    app.action(Ids.CANCEL)(tracked(cancel_clicked))
    app.action(Ids.ACCEPTED_ON_DESTINATION)(tracked(accepted_on_destination_clicked))
    app.view_submission(Ids.ACCEPT_VIEW)(tracked(accept_submitted))
    app.view_submission(Ids.DECLINE_VIEW)(tracked(decline_submitted))


def _clicked(clicked: BlockActions) -> int | None:
    """The id a button carries (an invitation or a connection)."""
    return parse_id(clicked.action.value or "")


def _ids(clicked: BlockActions) -> tuple[int, int | None]:
    """A Resend/Cancel button's value: "connection" or "connection:invitation"."""
    connection, _, invitation = (clicked.action.value or "").partition(":")
    return parse_id(connection) or 0, parse_id(invitation)


async def _tell(
    respond: AsyncRespond, text: str, *, clicked: BlockActions, context: AsyncBoltContext
) -> None:
    """An ephemeral reply where the click came from a message; on the Home tab (which has no
    response_url) a banner on the clicker's refreshed Home."""
    if clicked.response_url:
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    services: Services = context["services"]
    user_id, team_id = clicked.user_id, clicked.team_id
    try:
        is_admin = await services.permissions.is_admin(
            context.client, team_id=team_id, user_id=user_id
        )
        await Home(services).publish(
            team_id=team_id, user_id=user_id, is_admin=is_admin, banner=text
        )
    except (CannotCheck, *SLACK_FAILURES) as exc:  # user_not_found, a 429: nowhere to say it
        log.warning("Home tab not published for a click: %s", type(exc).__name__)


async def _open_for_partner(
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    build: Callable[[int, str], dict[str, Any]],
    *,
    button: str,
) -> None:
    """Open a modal about an invitation, for its partner only; anyone else is told why not.
    An expired trigger (a slow click) is told too: click `button` again."""
    clicked = reading(context, BlockActions)
    invitation_id = _clicked(clicked)
    try:
        name = await Invitations(context["services"]).check_partner(
            invitation_id=invitation_id or 0, user_id=clicked.user_id, team_id=clicked.team_id
        )
    except Refused as refused:
        await _tell(respond, str(refused), clicked=clicked, context=context)
        return
    if clicked.trigger_id is None:  # Slack sends one with every click: a modal needs it
        await _tell(respond, UNREADABLE, clicked=clicked, context=context)
        return
    try:
        await client.views_open(trigger_id=clicked.trigger_id, view=build(invitation_id or 0, name))
    except SLACK_FAILURES as exc:
        log.warning("views.open for %s failed: %s", button, slack_error(exc))
        text = could_not_open(exc, what=f"the {button} form", again=f"click *{button}* again")
        await _tell(respond, text, clicked=clicked, context=context)


async def accept_clicked(
    ack: AsyncAck,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _open_for_partner(
        client,
        context,
        respond,
        lambda id_, _: build_accept_view(invitation_id=id_),
        button="Accept",
    )


async def decline_clicked(
    ack: AsyncAck,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _open_for_partner(
        client,
        context,
        respond,
        lambda id_, name: build_decline_view(invitation_id=id_, connection_name=name),
        button="Decline",
    )


async def snooze_clicked(ack: AsyncAck, context: AsyncBoltContext, respond: AsyncRespond) -> None:
    await ack()
    clicked = reading(context, BlockActions)
    choice = "monday" if clicked.action.action_id == Ids.SNOOZE_MONDAY else "day"
    try:
        text = await Invitations(context["services"]).snooze(
            invitation_id=_clicked(clicked) or 0,
            user_id=clicked.user_id,
            team_id=clicked.team_id,
            choice=choice,
        )
    except Refused as refused:
        text = str(refused)
    await _tell(respond, text, clicked=clicked, context=context)


async def accept_submitted(ack: AsyncAck, context: AsyncBoltContext) -> None:
    submitted = reading(context, ViewSubmission)
    values = read_state(submitted.view.values)
    project, error = check_text(values.get(Ids.PARTNER_PROJECT), limit=255)
    if error:
        await ack(response_action="errors", errors={Ids.PARTNER_PROJECT: error})
        return
    services: Services = context["services"]
    ran, result = await Invitations(services).accept_once(
        view_id=submitted.view.id,
        code=str(values.get(Ids.CODE) or ""),
        partner_project=project,
        user_id=submitted.user_id,
        team_id=submitted.team_id,
    )
    if "error" in result:
        await ack(response_action="errors", errors={Ids.CODE: result["error"]})
        return
    await ack(response_action="update", view=build_message_view(t.ACCEPTED_TITLE, t.ACCEPTED))
    if ran:
        await services.deliver(result["outbox"])


async def decline_submitted(ack: AsyncAck, context: AsyncBoltContext) -> None:
    submitted = reading(context, ViewSubmission)
    values = read_state(submitted.view.values)
    reason, error = check_text(values.get(Ids.REASON))
    if error:
        await ack(response_action="errors", errors={Ids.REASON: error})
        return
    services: Services = context["services"]
    try:
        outbox = await Invitations(services).decline(
            invitation_id=metadata_id(submitted.view.as_dict(), "invitation") or 0,
            user_id=submitted.user_id,
            team_id=submitted.team_id,
            reason=reason,
        )
    except Refused as refused:
        await ack(response_action="errors", errors={Ids.REASON: str(refused)})
        return
    await ack(response_action="update", view=build_message_view(t.DECLINED_TITLE, t.DECLINED))
    await services.deliver(outbox)


async def _admin_action(
    client: AsyncWebClient, context: AsyncBoltContext, respond: AsyncRespond, *, what: str
) -> None:
    """Resend or Cancel, from an admin's DM or from the Home tab (which has no response_url:
    the answer shows as a banner on the refreshed Home)."""
    services: Services = context["services"]
    clicked = reading(context, BlockActions)
    user_id, team_id = clicked.user_id, clicked.team_id
    connection_id, invitation_id = _ids(clicked)
    try:
        is_admin = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    except CannotCheck as trouble:  # users.info refused (user_not_found, a 429)
        await _tell(respond, str(trouble), clicked=clicked, context=context)
        return
    if not is_admin:
        answer = services.permissions.refusal(f"{what} invitations")
    else:
        invitations = Invitations(services)
        try:
            if what == "resend":
                outbox = await invitations.resend(
                    connection_id=connection_id,
                    user_id=user_id,
                    team_id=team_id,
                    invitation_id=invitation_id,
                )
            else:
                outbox = await invitations.cancel(
                    connection_id=connection_id, user_id=user_id, team_id=team_id
                )
            await services.deliver(outbox)
            answer = t.RESENT if what == "resend" else cancelled_text(services.backend)
        except Refused as refused:
            answer = str(refused)
    await _tell(respond, answer, clicked=clicked, context=context)


async def resend_clicked(
    ack: AsyncAck,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _admin_action(client, context, respond, what="resend")


async def cancel_clicked(
    ack: AsyncAck,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _admin_action(client, context, respond, what="cancel")


async def accepted_on_destination_clicked(
    ack: AsyncAck,
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    """An admin accepted a connection without a code on the destination: it turns Active."""
    await ack()
    services: Services = context["services"]
    clicked = reading(context, BlockActions)
    user_id, team_id = clicked.user_id, clicked.team_id
    try:
        is_admin = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    except CannotCheck as trouble:
        await _tell(respond, str(trouble), clicked=clicked, context=context)
        return
    if not is_admin:
        answer = services.permissions.refusal("finish connections")
    else:
        try:
            outbox = await Invitations(services).accepted_on_destination(
                connection_id=_clicked(clicked) or 0, user_id=user_id, team_id=team_id
            )
            await services.deliver(outbox)
            answer = t.ACCEPTED_ON_DESTINATION
        except Refused as refused:
            answer = str(refused)
    await _tell(respond, answer, clicked=clicked, context=context)
