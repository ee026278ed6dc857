"""A workspace removing the app: `app_uninstalled`, or `tokens_revoked` for its bot token.
(Installs come in over GET /slack/oauth_redirect: bot/installs/routes.py.)"""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.invitations.reach import Reach
from bot.slack.listeners import tracked
from bot.slack.reading import Event, reading


def register(app: AsyncApp) -> None:
    app.event("app_uninstalled")(tracked(app_uninstalled))
    app.event("tokens_revoked")(tracked(tokens_revoked))


async def app_uninstalled(context: AsyncBoltContext) -> None:
    await _removed(context, reading(context, Event).team_id)


async def tokens_revoked(context: AsyncBoltContext) -> None:
    event = reading(context, Event)
    tokens = event.event.tokens
    if tokens is not None and tokens.bot:  # user tokens alone: the bot is still there
        await _removed(context, event.team_id)


async def _removed(context: AsyncBoltContext, team_id: str) -> None:
    services = context["services"]
    if services.workspaces.oauth:  # single-token mode: SLACK_BOT_TOKEN is dead, nothing to move
        await Reach(services).uninstalled(team_id)
