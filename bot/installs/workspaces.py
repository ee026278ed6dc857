"""Which workspaces the app is in, and a Web API client for each.

`OneWorkspace` is single-token mode: SLACK_BOT_TOKEN's workspace, whatever team is asked for.
`Installed` is OAuth mode: each workspace's bot token read from the installation store,
opened from its seal, and kept in memory for `TTL` seconds (`NOT_FOUND_TTL` for a workspace
that has none), so authorizing a request costs no query and no Slack call once the team has
been seen. An install or an uninstall in this process forgets the team at once; another
replica's, within the TTL (a token Slack refuses in the meantime is forgotten on the spot:
`forget`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import repo

TTL = 300.0
NOT_FOUND_TTL = 30.0


class Workspaces(Protocol):
    oauth: bool

    async def client(self, team_id: str) -> AsyncWebClient | None:
        """The client for `team_id`'s background work; None if the app is not installed there."""
        ...

    async def others(self, team_id: str) -> list[str]:
        """The other workspaces the app is installed in (where a partner may be found)."""
        ...

    async def names(self, team_ids: list[str]) -> dict[str, str]:
        """The workspaces' names, as their installations gave them."""
        ...

    def forget(self, team_id: str) -> None:
        """The team's installation changed (or its token was refused): ask the store again."""
        ...

    async def remove(self, team_id: str) -> None:
        """The workspace removed the app (app_uninstalled, tokens_revoked): its installation
        goes, and nothing more is sent there."""
        ...


class OneWorkspace:
    """Single-token mode: the app's own client for every team (there is only one)."""

    oauth = False

    def __init__(self, client: Callable[[], AsyncWebClient | None]) -> None:
        self._client = client

    async def client(self, team_id: str) -> AsyncWebClient | None:
        return self._client()

    async def others(self, team_id: str) -> list[str]:
        return []

    async def names(self, team_ids: list[str]) -> dict[str, str]:
        return {}

    def forget(self, team_id: str) -> None:
        return None

    async def remove(self, team_id: str) -> None:
        return None  # the token is SLACK_BOT_TOKEN's: Slack refuses it from now on


class Installed:
    """OAuth mode: the installations in our database, through a cache."""

    oauth = True

    def __init__(
        self,
        *,
        store: AsyncInstallationStore,
        sessions: async_sessionmaker[AsyncSession],
        template: Callable[[], AsyncWebClient | None],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store, self.sessions, self._template = store, sessions, template
        self._monotonic = monotonic
        self._bots: dict[str, tuple[float, Bot | None]] = {}
        self._results: dict[str, AuthorizeResult] = {}
        self._clients: dict[str, AsyncWebClient] = {}

    async def bot(self, team_id: str) -> Bot | None:
        """The team's bot installation (its token open), from the cache or the store."""
        now = self._monotonic()
        cached = self._bots.get(team_id)
        if cached is not None:
            at, bot = cached
            if now - at < (TTL if bot is not None else NOT_FOUND_TTL):
                return bot
        bot = await self.store.async_find_bot(enterprise_id=None, team_id=team_id)
        if bot is not None and not bot.bot_token:
            bot = None
        self.forget(team_id)
        self._bots[team_id] = (now, bot)
        return bot

    async def authorize(self, team_id: str) -> AuthorizeResult | None:
        """What Bolt needs to answer a request from `team_id`, with no call to Slack: the
        installation holds the bot's ids and scopes, as oauth.v2.access and auth.test gave them."""
        bot = await self.bot(team_id)
        if bot is None:
            return None
        result = self._results.get(team_id)
        if result is None:
            result = self._results[team_id] = AuthorizeResult(
                enterprise_id=bot.enterprise_id,
                team_id=bot.team_id,
                bot_user_id=bot.bot_user_id,
                bot_id=bot.bot_id,
                bot_token=bot.bot_token,
                bot_scopes=bot.bot_scopes,
            )
        return result

    async def client(self, team_id: str) -> AsyncWebClient | None:
        bot = await self.bot(team_id)
        if bot is None:
            return None
        client = self._clients.get(team_id)
        if client is None:
            client = self._clients[team_id] = self._client_with(bot.bot_token)
        return client

    def _client_with(self, token: str) -> AsyncWebClient:
        """A client like the app's (its base URL, timeout, session, retries) with `token`."""
        base = self._template()
        if base is None:
            raise RuntimeError("the Slack client is set when the app is created")
        return AsyncWebClient(
            token=token,
            base_url=base.base_url,
            timeout=base.timeout,
            session=base.session,
            retry_handlers=list(base.retry_handlers),
            logger=base.logger,
        )

    async def others(self, team_id: str) -> list[str]:
        async with self.sessions() as session:
            teams = await repo.installed_team_ids(session=session)
        return [team for team in teams if team != team_id]

    async def names(self, team_ids: list[str]) -> dict[str, str]:
        if not team_ids:
            return {}
        async with self.sessions() as session:
            return await repo.installation_names(session=session, team_ids=team_ids)

    async def remove(self, team_id: str) -> None:
        await self.store.async_delete_all(enterprise_id=None, team_id=team_id)
        self.forget(team_id)

    def forget(self, team_id: str) -> None:
        self._bots.pop(team_id, None)
        self._results.pop(team_id, None)
        self._clients.pop(team_id, None)
