"""Slack's OAuth stores on the bot's own database: installations (tokens sealed) and states.

slack_sdk's async SQLAlchemy stores, on our tables (storage.models: created by our migrations,
never by the stores' `create_tables`), with three changes:
- the tokens are sealed before they are written and opened when read, so neither the database
  nor a copy of its file holds one; storage/ knows only the vault's `seal` and `open`;
- writes are our write transactions (`storage.db.transaction`: on SQLite `BEGIN IMMEDIATE`,
  after this process's other writers), and an installation and its bot are saved together,
  and removed together (`async_delete_all`, on uninstall);
- a state is consumed by one DELETE, so of two replicas given the same state only one wins,
  and the state store's time is injected.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel import SQLModel

from storage.db import session_factory, transaction
from storage.models import SlackBots, SlackInstallations, SlackOAuthStates

log = logging.getLogger(__name__)

TOKEN_FIELDS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
# Every Fernet token starts so (its version byte, then a 64-bit timestamp's high bytes); a
# Slack token starts with "xox". This tells a sealed value from one already opened.
SEALED_PREFIX = "gAAAAA"

Entity = TypeVar("Entity", Installation, Bot)


def naive_utc(when: datetime) -> datetime:
    """slack_sdk's columns are naive UTC (TIMESTAMP WITHOUT TIME ZONE on PostgreSQL)."""
    if when.tzinfo is None:
        return when
    return when.astimezone(UTC).replace(tzinfo=None)


class SealedInstallationStore(AsyncSQLAlchemyInstallationStore):
    """Installations and bots, as Bolt's OAuth flow and authorize use them, tokens sealed."""

    def __init__(
        self,
        client_id: str,
        engine: AsyncEngine,
        seal: Callable[[str], str],
        open: Callable[[str], str],
    ) -> None:
        super().__init__(client_id=client_id, engine=engine, logger=log)
        self.metadata = SQLModel.metadata
        self.installations = SlackInstallations
        self.bots = SlackBots
        self._seal = seal
        self._open = open
        self._sessions = session_factory(engine)

    async def create_tables(self) -> None:
        raise RuntimeError("the bot's migrations create these tables (storage.db.migrate)")

    def _row(self, table: sa.Table, values: Mapping[str, Any]) -> dict[str, Any]:
        """The values of `table`'s columns (custom values dropped), tokens sealed."""
        row = {k: v for k, v in values.items() if k in table.c and k != "id"}
        row["client_id"] = self.client_id
        for name, value in row.items():
            if isinstance(value, datetime):
                row[name] = naive_utc(value)
        for name in TOKEN_FIELDS:
            if row.get(name) is not None:
                row[name] = self._seal(row[name])
        return row

    async def _upsert(self, conn: AsyncConnection, table: sa.Table, row: dict[str, Any]) -> None:
        """slack_sdk's rule: one row per (client, enterprise, team, installed_at)."""
        c = table.c
        same = (
            (c.client_id == self.client_id)
            & (c.enterprise_id == row.get("enterprise_id"))
            & (c.team_id == row.get("team_id"))
            & (c.installed_at == row.get("installed_at"))
        )
        found = (await conn.execute(sa.select(c.id).where(same).limit(1))).scalar()
        if found is None:
            await conn.execute(table.insert().values(**row))
        else:
            await conn.execute(table.update().where(c.id == found).values(**row))

    async def async_save(self, installation: Installation) -> None:
        async with transaction(self._sessions) as session:
            conn = await session.connection()
            for table, values in (
                (self.installations, installation.to_dict()),
                (self.bots, installation.to_bot().to_dict()),
            ):
                await self._upsert(conn, table, self._row(table, values))

    async def async_save_bot(self, bot: Bot) -> None:
        async with transaction(self._sessions) as session:
            conn = await session.connection()
            await self._upsert(conn, self.bots, self._row(self.bots, bot.to_dict()))

    def _opened(self, entity: Entity | None) -> Entity | None:
        """Open the entity's sealed tokens; one already open stays as it is (slack_sdk's
        find_installation copies the bot's tokens, which async_find_bot has opened)."""
        if entity is None:
            return None
        for name in TOKEN_FIELDS:
            value = getattr(entity, name, None)
            if isinstance(value, str) and value.startswith(SEALED_PREFIX):
                setattr(entity, name, self._open(value))
        return entity

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        bot = await super().async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(bot)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        installation = await super().async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return self._opened(installation)

    async def _delete(
        self,
        tables: tuple[sa.Table, ...],
        enterprise_id: str | None,
        team_id: str | None,
        **by: Any,
    ) -> None:
        async with transaction(self._sessions) as session:
            conn = await session.connection()
            for table in tables:
                c = table.c
                where = (
                    (c.client_id == self.client_id)
                    & (c.enterprise_id == enterprise_id)
                    & (c.team_id == team_id)
                )
                for name, value in by.items():
                    where &= c[name] == value
                await conn.execute(table.delete().where(where))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._delete((self.bots,), enterprise_id, team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        by = {} if user_id is None else {"user_id": user_id}
        await self._delete((self.installations,), enterprise_id, team_id, **by)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """The app uninstalled: its bot and every installation in the workspace, at once."""
        await self._delete((self.bots, self.installations), enterprise_id, team_id)


class OAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """OAuth states: issued with a deadline, consumed once (a single conditional DELETE)."""

    def __init__(
        self, engine: AsyncEngine, expiration_seconds: int, now: Callable[[], datetime]
    ) -> None:
        super().__init__(expiration_seconds=expiration_seconds, engine=engine, logger=log)
        self.metadata = SQLModel.metadata
        self.oauth_states = SlackOAuthStates
        self._now = now
        self._sessions = session_factory(engine)

    async def create_tables(self) -> None:
        raise RuntimeError("the bot's migrations create this table (storage.db.migrate)")

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        expire_at = naive_utc(self._now() + timedelta(seconds=self.expiration_seconds))
        async with transaction(self._sessions) as session:
            conn = await session.connection()
            await conn.execute(self.oauth_states.insert().values(state=state, expire_at=expire_at))
        return state

    async def async_consume(self, state: str) -> bool:
        c = self.oauth_states.c
        try:
            async with transaction(self._sessions) as session:
                conn = await session.connection()
                result = await conn.execute(
                    self.oauth_states.delete().where(
                        c.state == state, c.expire_at > naive_utc(self._now())
                    )
                )
                return bool(result.rowcount == 1)
        except Exception as exc:  # slack_sdk's contract: a failure is an invalid state
            log.warning("an OAuth state could not be checked (%s)", type(exc).__name__)
            return False


def oauth_state_store(
    engine: AsyncEngine,
    expiration_seconds: int,
    *,
    now: Callable[[], datetime] | None = None,
) -> OAuthStateStore:
    """The state store for Bolt's AsyncOAuthSettings; `now` is the bot's clock (UTC)."""
    return OAuthStateStore(engine, expiration_seconds, now or (lambda: datetime.now(UTC)))
