"""The invitation DM's buttons and modals: Accept, Snooze, Decline (for the invited partner),
and the admin's Resend and Cancel (escalation and expiry DMs)."""

from __future__ import annotations

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
from bot.services import Services
from bot.slack.blocks import build_message_view
from bot.slack.listeners import tracked
from bot.slack.payloads import parse_id, read_state
from bot.slack.text import check_text


def register(app: AsyncApp) -> None:
    app.action(Ids.ACCEPT)(tracked(accept_clicked))
    app.action(Ids.DECLINE)(tracked(decline_clicked))
    app.action(Ids.SNOOZE_DAY)(tracked(snooze_clicked))
    app.action(Ids.SNOOZE_MONDAY)(tracked(snooze_clicked))
    app.action(Ids.RESEND)(tracked(resend_clicked))
    app.action(Ids.CANCEL)(tracked(cancel_clicked))
    app.view_submission(Ids.ACCEPT_VIEW)(tracked(accept_submitted))
    app.view_submission(Ids.DECLINE_VIEW)(tracked(decline_submitted))


def _clicked(body: dict[str, Any]) -> tuple[int | None, str]:
    """The id a button carries (an invitation or a connection) and who clicked."""
    return parse_id(_value(body)), body["user"]["id"]


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else {}
    return str(action.get("value") or "") if isinstance(action, dict) else ""


def _ids(body: dict[str, Any]) -> tuple[int, int | None]:
    """A Resend/Cancel button's value: "connection" or "connection:invitation"."""
    connection, _, invitation = _value(body).partition(":")
    return parse_id(connection) or 0, parse_id(invitation)


async def _tell(
    respond: AsyncRespond, text: str, *, body: dict[str, Any], context: AsyncBoltContext
) -> None:
    """An ephemeral reply where the click came from a message; on the Home tab (which has no
    response_url) a banner on the clicker's refreshed Home."""
    if body.get("response_url"):
        await respond(text=text, response_type="ephemeral", replace_original=False)
        return
    services: Services = context["services"]
    user_id, team_id = body["user"]["id"], context.team_id or ""
    is_admin = await services.permissions.is_admin(
        services.slack_client(team_id), team_id=team_id, user_id=user_id
    )
    await Home(services).publish(team_id=team_id, user_id=user_id, is_admin=is_admin, banner=text)


async def _open_for_partner(
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    build: Callable[[int, str], dict[str, Any]],
) -> None:
    """Open a modal about an invitation, for its partner only; anyone else is told why not."""
    invitation_id, user_id = _clicked(body)
    try:
        name = await Invitations(context["services"]).check_partner(
            invitation_id=invitation_id or 0, user_id=user_id, team_id=context.team_id or ""
        )
    except Refused as refused:
        await _tell(respond, str(refused), body=body, context=context)
        return
    await client.views_open(trigger_id=body["trigger_id"], view=build(invitation_id or 0, name))


async def accept_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _open_for_partner(
        body, client, context, respond, lambda id_, _: build_accept_view(invitation_id=id_)
    )


async def decline_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _open_for_partner(
        body,
        client,
        context,
        respond,
        lambda id_, name: build_decline_view(invitation_id=id_, connection_name=name),
    )


async def snooze_clicked(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond
) -> None:
    await ack()
    invitation_id, user_id = _clicked(body)
    choice = "monday" if body["actions"][0]["action_id"] == Ids.SNOOZE_MONDAY else "day"
    try:
        text = await Invitations(context["services"]).snooze(
            invitation_id=invitation_id or 0,
            user_id=user_id,
            team_id=context.team_id or "",
            choice=choice,
        )
    except Refused as refused:
        text = str(refused)
    await _tell(respond, text, body=body, context=context)


async def accept_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    values = read_state(view["state"]["values"])
    project, error = check_text(values.get(Ids.PARTNER_PROJECT), limit=255)
    if error:
        await ack(response_action="errors", errors={Ids.PARTNER_PROJECT: error})
        return
    services: Services = context["services"]
    ran, result = await Invitations(services).accept_once(
        view_id=str(view.get("id")),
        code=str(values.get(Ids.CODE) or ""),
        partner_project=project,
        user_id=body["user"]["id"],
        team_id=context.team_id or "",
    )
    if "error" in result:
        await ack(response_action="errors", errors={Ids.CODE: result["error"]})
        return
    await ack(response_action="update", view=build_message_view(t.ACCEPTED_TITLE, t.ACCEPTED))
    if ran:
        await services.courier.run(ids=result["outbox"])


async def decline_submitted(
    ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], context: AsyncBoltContext
) -> None:
    values = read_state(view["state"]["values"])
    reason, error = check_text(values.get(Ids.REASON))
    if error:
        await ack(response_action="errors", errors={Ids.REASON: error})
        return
    services: Services = context["services"]
    try:
        outbox = await Invitations(services).decline(
            invitation_id=metadata_id(view, "invitation") or 0,
            user_id=body["user"]["id"],
            team_id=context.team_id or "",
            reason=reason,
        )
    except Refused as refused:
        await ack(response_action="errors", errors={Ids.REASON: str(refused)})
        return
    await ack(response_action="update", view=build_message_view(t.DECLINED_TITLE, t.DECLINED))
    await services.courier.run(ids=outbox)


async def _admin_action(
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
    *,
    what: str,
) -> None:
    """Resend or Cancel, from an admin's DM or from the Home tab (which has no response_url:
    the answer shows as a banner on the refreshed Home)."""
    services: Services = context["services"]
    user_id, team_id = body["user"]["id"], context.team_id or ""
    connection_id, invitation_id = _ids(body)
    is_admin = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
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
            await services.courier.run(ids=outbox)
            answer = t.RESENT if what == "resend" else cancelled_text(services.backend)
        except Refused as refused:
            answer = str(refused)
    await _tell(respond, answer, body=body, context=context)


async def resend_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _admin_action(body, client, context, respond, what="resend")


async def cancel_clicked(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    context: AsyncBoltContext,
    respond: AsyncRespond,
) -> None:
    await ack()
    await _admin_action(body, client, context, respond, what="cancel")
