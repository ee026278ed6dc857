"""What the Home tab's events and buttons do: who may, what happens, what the banner says.
The listeners (handlers/home.py) only read the payload, call these and acknowledge."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.home import texts
from bot.home.flow import Home
from bot.invitations.errors import Refused
from bot.invitations.service import Invitations
from bot.services import Services
from bot.wizard.flow import open_wizard


def trigger(trigger_id: str | None) -> str:
    """Slack sends a trigger with every click; a payload without one fails here, after the
    acknowledgement, as it always has."""
    if trigger_id is None:
        raise KeyError("trigger_id")
    return trigger_id


async def opened(services: Services, client: AsyncWebClient, *, team_id: str, user_id: str) -> None:
    is_admin = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    await Home(services).opened(team_id=team_id, user_id=user_id, is_admin=is_admin)


async def admin_or_refused(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, what: str
) -> bool:
    """Whether the person is an admin; if not, their Home tab says why and who is."""
    allowed = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    if not allowed:
        await Home(services).publish(
            team_id=team_id,
            user_id=user_id,
            is_admin=False,
            banner=services.permissions.refusal(what),
        )
    return allowed


async def start_connection(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    trigger_id: str | None,
) -> None:
    """New connection: the wizard, for an admin."""
    what = texts.START_A_CONNECTION
    if await admin_or_refused(services, client, team_id=team_id, user_id=user_id, what=what):
        await open_wizard(services, client, None, trigger(trigger_id), team_id, user_id)


async def remind_now(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    connection_id: int | None,
) -> None:
    """Remind now: a reminder to the partner at once, and the admin's Home tab says so."""
    what = texts.SEND_REMINDERS
    if not await admin_or_refused(services, client, team_id=team_id, user_id=user_id, what=what):
        return
    invitations = Invitations(services)
    try:
        outbox = await invitations.remind_now(
            connection_id=connection_id or 0, user_id=user_id, team_id=team_id
        )
        await invitations.courier.run(ids=outbox)
        banner = texts.REMINDER_SENT
    except Refused as refused:
        banner = str(refused)
    await Home(services).publish(team_id=team_id, user_id=user_id, is_admin=True, banner=banner)
