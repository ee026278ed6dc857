"""What the handlers need, built once per process and handed to them through Bolt's context."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.backend.base import ConnectionBackend
from bot.clock import Clock
from bot.permissions import Permissions
from bot.settings import Settings


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    backend: ConnectionBackend
    clock: Clock
    permissions: Permissions
    slack: AsyncWebClient | None = None  # the app's client, for work outside a request

    def slack_client(self, team_id: str) -> AsyncWebClient:
        """The Web API client for a workspace's background work (reminders, the outbox).

        One workspace today; with OAuth this becomes a look-up of the team's installation.
        """
        if self.slack is None:
            raise RuntimeError("the Slack client is set when the app is created")
        del team_id
        return self.slack
