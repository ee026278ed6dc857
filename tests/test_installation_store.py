"""Installations and OAuth states in the bot's database (SQLite and PostgreSQL): tokens sealed
at rest, found back open; states consumed once; the invitations an installation reaches."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.security import Vault
from storage import repo
from storage.db import (
    alembic_config,
    create_engine,
    migrate,
    pending_migrations,
    session_factory,
    transaction,
)
from storage.models import (
    Connection,
    Invitation,
    InvitationState,
    SlackBots,
    SlackInstallations,
    SlackOAuthStates,
)
from storage.slack_stores import TOKEN_FIELDS, SealedInstallationStore, oauth_state_store

BOT_TOKEN = "xoxb-1111-2222-SECRETBOT"
REFRESH = "xoxe-1-SECRETREFRESH"
USER_TOKEN = "xoxp-3333-SECRETUSER"
NEW_TOKEN = "xoxb-1111-4444-SECRETAGAIN"
SECRETS = (BOT_TOKEN, REFRESH, USER_TOKEN, NEW_TOKEN)
INSTALLED = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def vault() -> Vault:
    return Vault(Fernet.generate_key())


@pytest.fixture
def store(engine: AsyncEngine, vault: Vault) -> SealedInstallationStore:
    return SealedInstallationStore("CLIENT1", engine, vault.seal, vault.open)


def installation(
    *,
    team: str = "T1",
    name: str = "Acme",
    token: str = BOT_TOKEN,
    at: datetime = INSTALLED,
    user_token: str | None = USER_TOKEN,
) -> Installation:
    return Installation(
        app_id="A1",
        enterprise_id=None,
        team_id=team,
        team_name=name,
        bot_token=token,
        bot_id="B1",
        bot_user_id="UBOT",
        bot_scopes=["chat:write", "commands"],
        bot_refresh_token=REFRESH,
        bot_token_expires_at=at + timedelta(hours=12),
        user_id="UADMIN",
        user_token=user_token,
        user_scopes=["identify"],
        installed_at=at.timestamp(),
    )


async def raw_rows(engine: AsyncEngine, table: sa.Table) -> list[dict]:
    async with engine.connect() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(table))).mappings()]


def sqlite_files(engine: AsyncEngine) -> list[Path]:
    database = Path(engine.url.database or "")
    return [p for p in database.parent.glob(database.name + "*") if p.is_file()]


def test_the_tables_are_slack_sdks_column_for_column() -> None:
    """Bolt's store reads and writes them as its own: same columns, types, nullability and
    indexes, except the token columns, which hold sealed tokens (Text)."""
    theirs = sa.MetaData()
    pairs = [
        (SQLAlchemyInstallationStore.build_installations_table(theirs, "slack_installations"),
         SlackInstallations),
        (SQLAlchemyInstallationStore.build_bots_table(theirs, "slack_bots"), SlackBots),
        (SQLAlchemyOAuthStateStore.build_oauth_states_table(theirs, "slack_oauth_states"),
         SlackOAuthStates),
    ]  # fmt: skip
    for sdk, ours in pairs:
        assert ours.name == sdk.name
        assert [c.name for c in ours.c] == [c.name for c in sdk.c]
        for column in sdk.c:
            mine = ours.c[column.name]
            assert (mine.nullable, mine.primary_key) == (column.nullable, column.primary_key)
            if column.name in TOKEN_FIELDS:
                assert isinstance(mine.type, sa.Text), column.name
            else:
                assert repr(mine.type) == repr(column.type), column.name
        ours_indexes = {(i.name, tuple(c.name for c in i.columns)) for i in ours.indexes}
        assert {(i.name, tuple(c.name for c in i.columns)) for i in sdk.indexes} <= ours_indexes


async def test_an_installation_is_found_back_open_and_stored_sealed(
    engine: AsyncEngine, store: SealedInstallationStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await store.async_save(installation())

    found = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None
    assert (found.bot_token, found.bot_refresh_token, found.user_token) == (
        BOT_TOKEN,
        REFRESH,
        USER_TOKEN,
    )
    assert (found.team_name, found.bot_user_id, found.bot_scopes) == (
        "Acme",
        "UBOT",
        ["chat:write", "commands"],
    )
    assert found.installed_at == INSTALLED.timestamp()
    # by user: slack_sdk's find also asks find_bot and compares the tokens (one opened, one not)
    by_user = await store.async_find_installation(
        enterprise_id=None, team_id="T1", user_id="UADMIN"
    )
    assert by_user is not None and (by_user.bot_token, by_user.user_token) == (
        BOT_TOKEN,
        USER_TOKEN,
    )
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and (bot.bot_token, bot.bot_refresh_token) == (BOT_TOKEN, REFRESH)
    assert await store.async_find_bot(enterprise_id=None, team_id="T2") is None

    rows = await raw_rows(engine, SlackInstallations) + await raw_rows(engine, SlackBots)
    assert len(rows) == 2
    for row in rows:
        assert row["client_id"] == "CLIENT1"
        assert not any(secret in str(row) for secret in SECRETS)
        assert row["bot_token"].startswith("gAAAAA")
    assert not any(secret in caplog.text for secret in SECRETS)
    if engine.dialect.name == "sqlite":
        files = sqlite_files(engine)
        assert files  # the database, its WAL
        for path in files:
            content = path.read_bytes()
            assert not any(secret.encode() in content for secret in SECRETS), path


async def test_a_reinstall_is_what_find_returns(
    engine: AsyncEngine, store: SealedInstallationStore, vault: Vault
) -> None:
    await store.async_save(installation())
    later = INSTALLED + timedelta(days=3)
    await store.async_save(installation(name="Acme Inc", token=NEW_TOKEN, at=later))
    await store.async_save(installation(team="T2", name="Partner"))

    found = await store.async_find_installation(enterprise_id=None, team_id="T1")
    assert found is not None and (found.bot_token, found.team_name) == (NEW_TOKEN, "Acme Inc")
    bot = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert bot is not None and bot.bot_token == NEW_TOKEN
    # saved again with the same installed_at: the same rows, updated
    await store.async_save(installation(name="Acme Inc", token=NEW_TOKEN, at=later))
    assert len(await raw_rows(engine, SlackBots)) == 3

    async with session_factory(engine)() as session:
        assert await repo.installed_team_ids(session=session) == ["T1", "T2"]
        names = await repo.installation_names(session=session, team_ids=["T1", "T2", "T9"])
        assert names == {"T1": "Acme Inc", "T2": "Partner"}
    mine = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert await store.async_find_bot(enterprise_id=None, team_id="T9") is None
    assert mine is not None and mine.bot_token == NEW_TOKEN
    assert (mine.team_id, mine.team_name, mine.bot_user_id, mine.bot_id) == (
        "T1",
        "Acme Inc",
        "UBOT",
        "B1",
    )
    assert mine.bot_scopes == ["chat:write", "commands"]


async def test_delete_all_removes_the_workspace_and_only_it(
    engine: AsyncEngine, store: SealedInstallationStore
) -> None:
    await store.async_save(installation())
    await store.async_save(installation(token=NEW_TOKEN, at=INSTALLED + timedelta(days=1)))
    await store.async_save(installation(team="T2", name="Partner"))

    await store.async_delete_all(enterprise_id=None, team_id="T1")

    assert await store.async_find_installation(enterprise_id=None, team_id="T1") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T1") is None
    assert {r["team_id"] for r in await raw_rows(engine, SlackInstallations)} == {"T2"}
    assert {r["team_id"] for r in await raw_rows(engine, SlackBots)} == {"T2"}
    async with session_factory(engine)() as session:
        assert await repo.installed_team_ids(session=session) == ["T2"]
    with pytest.raises(RuntimeError, match="migrations"):
        await store.create_tables()


async def test_a_state_is_consumed_once_and_not_after_it_expires(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    states = oauth_state_store(engine, 600, now=clock.now)
    state = await states.async_issue()
    rows = await raw_rows(engine, SlackOAuthStates)
    assert [r["state"] for r in rows] == [state]
    assert rows[0]["expire_at"] == (clock.now() + timedelta(seconds=600)).replace(tzinfo=None)

    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("never-issued") is False

    late = await states.async_issue()
    clock.advance(timedelta(seconds=599))
    in_time = await states.async_issue()
    clock.advance(timedelta(seconds=2))
    assert await states.async_consume(late) is False  # expired a second ago
    assert await states.async_consume(in_time) is True
    async with transaction(session_factory(engine)) as session:
        assert await repo.purge_oauth_states(session=session, now=clock.now()) == 1
    assert await raw_rows(engine, SlackOAuthStates) == []


async def test_of_two_consumers_of_one_state_only_one_wins(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """Two replicas handed the same OAuth callback (a retried redirect)."""
    states = oauth_state_store(engine, 600, now=clock.now)
    for _ in range(5):
        state = await states.async_issue()
        won = await asyncio.gather(*(states.async_consume(state) for _ in range(4)))
        assert sorted(won) == [False, False, False, True]


async def _invitation(engine: AsyncEngine, clock: FakeClock, name: str, **values) -> Invitation:
    async with transaction(session_factory(engine)) as session:
        _, invitation = await repo.create_connection(
            session=session,
            team_id="T1",
            answers={
                "destination": "private",
                "destination_url": None,
                "mode": "script",
                "local_short_name": "acme",
                "remote_short_name": "partnerco",
                "connection_name": name,
                "description": "",
                "project_key": "SUP",
                "project_name": "Support",
                "notice_channel": None,
                "note": "",
            },
            backend="local",
            backend_id=name,
            initiator_user_id="UADMIN",
            partner_user_id=values.pop("partner_user_id", "UPARTNER"),
            partner_team_id="T2",
            by_hand=True,  # reached nowhere, unless the test gives reach_team_id
            code_hash=name.ljust(64, "0"),
            expires_at=clock.now() + timedelta(days=14),
            next_reminder_at=clock.now() + timedelta(hours=24),
            now=clock.now(),
        )
        for key, value in values.items():
            setattr(invitation, key, value)
        session.add(invitation)
    return invitation


async def test_invitations_follow_the_installations_that_reach_them(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    reached_t2 = await _invitation(engine, clock, "one", reach_team_id="T2")
    also_t2 = await _invitation(engine, clock, "two", reach_team_id="T2", partner_email="b@p.co")
    by_hand = await _invitation(engine, clock, "three", partner_user_id="", partner_email="")
    findable = await _invitation(
        engine, clock, "four", partner_user_id="", partner_email="dana@partner.co"
    )
    done = await _invitation(engine, clock, "five", reach_team_id="T2", state="REDEEMED")
    sessions = session_factory(engine)
    async with sessions() as session:
        in_t2 = await repo.invitations_reached_in(session=session, team_id="T2")
        assert [i.id for i in in_t2] == [reached_t2.id, also_t2.id]
        waiting = await repo.unreached_pending_invitations(session=session)
        assert [i.id for i in waiting] == [findable.id]  # not `by_hand`: no e-mail to look for

    clock.advance(timedelta(minutes=5))
    async with transaction(sessions) as session:
        gone = await repo.unreach_invitations(session=session, team_id="T2", now=clock.now())
    assert [(i.id, i.reach_team_id, i.updated_at) for i in gone] == [
        (reached_t2.id, None, clock.now()),
        (also_t2.id, None, clock.now()),
    ]
    async with sessions() as session:
        assert await repo.invitations_reached_in(session=session, team_id="T2") == []
        unreached = await repo.unreached_pending_invitations(session=session)
        stored_done = await session.get(Invitation, done.id)
    assert [i.id for i in unreached] == [also_t2.id, findable.id]
    assert by_hand.id not in [i.id for i in unreached]
    assert stored_done is not None and stored_done.reach_team_id == "T2"  # not pending: kept

    async with transaction(sessions) as session:
        won = await repo.reach_invitation(
            session=session,
            invitation_id=findable.id,
            team_id="T3",
            partner_user_id="UDANA",
            now=clock.now(),
        )
        again = await repo.reach_invitation(
            session=session,
            invitation_id=findable.id,
            team_id="T4",
            partner_user_id="UOTHER",
            now=clock.now(),
        )
    assert won is not None and (won.reach_team_id, won.partner_user_id) == ("T3", "UDANA")
    assert again is None  # already reached
    async with sessions() as session:
        stored = await session.get(Invitation, findable.id)
        connection = await session.get(Connection, findable.connection_id)
        reached_t3 = await repo.invitations_reached_in(session=session, team_id="T3")
    assert stored is not None and (stored.reach_team_id, stored.partner_user_id) == ("T3", "UDANA")
    assert connection is not None and connection.partner_user_id == "UDANA"
    assert [i.id for i in reached_t3] == [findable.id]
    assert stored.state == InvitationState.PENDING


def _downgrade(connection, revision: str) -> None:
    command.downgrade(alembic_config(connection), revision)


def _tables(connection) -> set[str]:
    return set(sa.inspect(connection).get_table_names())


async def test_migration_0005_goes_down_and_up_again(database_url: str, clock: FakeClock) -> None:
    """Down to 0004 drops the new tables and columns; up again backfills an invitation's reach
    with its own workspace (the one bot token reached every partner from there)."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        invitation = await _invitation(engine, clock, "before")
        assert invitation.reach_team_id is None
        async with engine.begin() as conn:
            await conn.run_sync(_downgrade, "0004")
        async with engine.connect() as conn:
            tables = await conn.run_sync(_tables)
            columns = await conn.run_sync(
                lambda c: {col["name"] for col in sa.inspect(c).get_columns("invitation")}
            )
        assert not tables & {"slack_installations", "slack_bots", "slack_oauth_states"}
        assert "invitation" in tables and not columns & {"reach_team_id", "partner_email"}
        assert await pending_migrations(engine) != []

        await migrate(engine)
        assert await pending_migrations(engine) == []
        async with session_factory(engine)() as session:
            stored = await session.get(Invitation, invitation.id)
        assert stored is not None and stored.reach_team_id == "T1"
        vault = Vault(Fernet.generate_key())
        store = SealedInstallationStore("CLIENT1", engine, vault.seal, vault.open)
        await store.async_save(installation())
        assert (await store.async_find_bot(enterprise_id=None, team_id="T1")) is not None
    finally:
        await engine.dispose()
