"""Bolt's OAuth flow (GET /slack/install, GET /slack/oauth_redirect) on our stores: the
installations and the one-use states in the bot's database, the tokens sealed, and
`oauth.v2.access` on SLACK_API_URL (Bolt asks with the app's client).

After an install the workspace's cached installation is forgotten and `on_installed` runs
(invitations waiting for someone in that workspace reach them), then Bolt's own page says
"installed" with a link into Slack."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.installs.scopes import BOT_SCOPES
from bot.installs.workspaces import Installed
from bot.settings import Settings

log = logging.getLogger(__name__)

INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
STATE_SECONDS = 600  # the install link's state: Slack's authorize page, then back, within this


def install_url(settings: Settings) -> str:
    """The link to send to a workspace's admin: the bot's "Add to Slack" page."""
    return settings.base_url + INSTALL_PATH


def oauth_settings(
    settings: Settings,
    *,
    store: AsyncInstallationStore,
    state_store: AsyncOAuthStateStore,
    workspaces: Installed,
    on_installed: Callable[[str], Awaitable[None]],
) -> AsyncOAuthSettings:
    assert settings.slack_client_id is not None and settings.slack_client_secret is not None

    async def success(args: AsyncSuccessArgs) -> BoltResponse:
        team_id = args.installation.team_id
        if team_id:
            workspaces.forget(team_id)
            log.info("installed in workspace %s (%s)", team_id, args.installation.team_name)
            try:
                await on_installed(team_id)
            except Exception:  # the install itself is saved: say so, and log what failed
                log.exception("after the install in %s", team_id)
        return await args.default.success(args)

    return AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(BOT_SCOPES),
        redirect_uri=settings.base_url + REDIRECT_PATH if settings.exalate_public_url else None,
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        authorization_url=settings.authorize_url,
        installation_store=store,
        installation_store_bot_only=True,
        state_store=state_store,
        state_expiration_seconds=STATE_SECONDS,
        callback_options=AsyncCallbackOptions(success=success, failure=_default_failure),
    )


async def _default_failure(args: AsyncFailureArgs) -> BoltResponse:
    """Bolt's own page for a failed install (a denied authorization, an expired state)."""
    return await args.default.failure(args)
