"""OAuth mode's parts, for the app factory: the sealed installation store and the state store
on our database, the cached workspaces (set on the services), Bolt's OAuth settings and the
authorization that reads the cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.installs.authorize import CachedAuthorize
from bot.installs.oauth import STATE_SECONDS, install_url, oauth_settings
from bot.installs.workspaces import Installed
from bot.services import Services
from storage.slack_stores import SealedInstallationStore, oauth_state_store

NOT_INSTALLED = (
    ":warning: The Exalate app isn't installed in this workspace (any more). Ask your Slack "
    "admin to add it with this link: {link}"
)


def oauth_parts(
    services: Services, *, on_installed: Callable[[str], Awaitable[None]]
) -> dict[str, Any]:
    """AsyncApp's keyword arguments for OAuth mode (`oauth_settings`, `authorize`)."""
    settings = services.settings
    assert settings.slack_client_id is not None
    store = SealedInstallationStore(
        client_id=settings.slack_client_id,
        engine=services.engine,
        seal=services.vault.seal,
        open=services.vault.open,
    )
    workspaces = Installed(store=store, sessions=services.sessions, template=lambda: services.slack)
    services.workspaces = workspaces
    return {
        "oauth_settings": oauth_settings(
            settings,
            store=store,
            state_store=oauth_state_store(
                services.engine, expiration_seconds=STATE_SECONDS, now=services.clock.now
            ),
            workspaces=workspaces,
            on_installed=on_installed,
        ),
        "authorize": CachedAuthorize(workspaces),
        "user_facing_authorize_error_message": NOT_INSTALLED.format(link=install_url(settings)),
    }
