"""What the Home tab's events and buttons do: who may, what happens, what the banner says.
The listeners (handlers/home.py) only read the payload, call these and acknowledge.

A click on the Home tab has no response_url: the answer is a banner on the refreshed tab.
What Slack refuses after the acknowledgement (an expired trigger, a user it can't find, a
429) is told there when it can be, else it is one warning line."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.home import texts
from bot.home.flow import Home
from bot.invitations.errors import Refused
from bot.invitations.service import Invitations
from bot.permissions import CannotCheck
from bot.services import Services
from bot.slack.errors import SLACK_FAILURES, slack_error
from bot.slack.reading import UNREADABLE
from bot.wizard.flow import open_wizard

log = logging.getLogger(__name__)


async def opened(services: Services, client: AsyncWebClient, *, team_id: str, user_id: str) -> None:
    is_admin = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    await Home(services).opened(team_id=team_id, user_id=user_id, is_admin=is_admin)


async def banner(
    services: Services, *, team_id: str, user_id: str, is_admin: bool, text: str
) -> None:
    """The person's Home tab again, with `text` on top; a Home Slack won't publish (the user
    is gone, a 429) is one warning line."""
    try:
        await Home(services).publish(
            team_id=team_id, user_id=user_id, is_admin=is_admin, banner=text
        )
    except SLACK_FAILURES as exc:
        log.warning("Home tab not published: %s", slack_error(exc))


async def admin_or_refused(
    services: Services, client: AsyncWebClient, *, team_id: str, user_id: str, what: str
) -> bool:
    """Whether the person is an admin; if not (or Slack can't say), their Home tab says why."""
    try:
        allowed = await services.permissions.is_admin(client, team_id=team_id, user_id=user_id)
    except CannotCheck as trouble:  # users.info refused: user_not_found, a 429...
        await banner(services, team_id=team_id, user_id=user_id, is_admin=False, text=str(trouble))
        return False
    if not allowed:
        refusal = services.permissions.refusal(what)
        await banner(services, team_id=team_id, user_id=user_id, is_admin=False, text=refusal)
    return allowed


async def start_connection(
    services: Services,
    client: AsyncWebClient,
    *,
    team_id: str,
    user_id: str,
    trigger_id: str | None,
) -> None:
    """New connection: the wizard, for an admin; what Slack refuses shows as a banner."""
    what = texts.START_A_CONNECTION
    if not await admin_or_refused(services, client, team_id=team_id, user_id=user_id, what=what):
        return

    async def tell(text: str, **_: object) -> None:
        await banner(services, team_id=team_id, user_id=user_id, is_admin=True, text=text)

    if trigger_id is None:  # Slack sends one with every click: a modal needs it
        await tell(UNREADABLE)
        return
    again = f"click *{texts.NEW_CONNECTION}* again"
    await open_wizard(services, client, tell, trigger_id, team_id, user_id, again=again)


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
        await services.deliver(outbox)
    except Refused as refused:
        said = str(refused)
    else:
        said = texts.REMINDER_SENT
    await banner(services, team_id=team_id, user_id=user_id, is_admin=True, text=said)
