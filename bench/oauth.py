"""OAuth mode for the benchmarks: the emulator's workspaces, each with the app installed, and
their installations saved in a database through the bot's own SealedInstallationStore (the
rows an install through /slack/install would leave, tokens sealed)."""

from __future__ import annotations

import time
from typing import Any

from slack_sdk.oauth.installation_store import Installation

from bot.devtools.slack_emulator import SlackEmulator, Workspace
from bot.security import Vault
from bot.settings import normalize_database_url
from storage.db import create_engine, migrate
from storage.slack_stores import SealedInstallationStore

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "bench-client-secret"
KEY = "Qmw6Q2l3UzN0b0p3c1dGbGVfR0o0Z1B5bWQ5T3F0b0E="  # EXALATE_SECRET_KEY of every bench
SCOPES = ["commands", "chat:write", "chat:write.public", "im:write", "users:read"]


def oauth_env() -> dict[str, str]:
    """The bot's settings for OAuth mode (with SLACK_SIGNING_SECRET, and no SLACK_BOT_TOKEN)."""
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "EXALATE_SECRET_KEY": KEY,
    }


def installed_workspaces(slack: SlackEmulator, count: int) -> list[Workspace]:
    """The primary workspace and `count - 1` more, the app installed in each."""
    workspaces = [slack.primary]
    for n in range(2, count + 1):
        workspaces.append(
            slack.add_workspace(team_id=f"T{n:04d}", name=f"Company {n}", installed=True)
        )
    return workspaces


def store(engine: Any) -> SealedInstallationStore:
    """The installation store the bot builds (bot/installs/setup.py), on `engine`."""
    vault = Vault(KEY.encode())
    return SealedInstallationStore(
        client_id=CLIENT_ID, engine=engine, seal=vault.seal, open=vault.open
    )


async def seed_installations(url: str, workspaces: list[Workspace]) -> None:
    """Migrate the database at `url` and save each workspace's installation in it (in place
    of an earlier run's: each emulator gives its workspaces fresh tokens)."""
    engine = create_engine(normalize_database_url(url))
    try:
        await migrate(engine)
        installations = store(engine)
        for workspace in workspaces:
            assert workspace.bot_token is not None
            await installations.async_delete_all(enterprise_id=None, team_id=workspace.team_id)
            await installations.async_save(
                Installation(
                    app_id=workspace.app_id,
                    enterprise_id=None,
                    team_id=workspace.team_id,
                    team_name=workspace.name,
                    bot_token=workspace.bot_token,
                    bot_id=workspace.bot_id,
                    bot_user_id=workspace.bot_user_id,
                    bot_scopes=SCOPES,
                    user_id="UINSTALLER",
                    token_type="bot",
                    installed_at=time.time(),
                )
            )
    finally:
        await engine.dispose()
