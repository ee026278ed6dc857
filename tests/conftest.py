"""Shared fixtures: databases (SQLite and PostgreSQL), clocks, the Slack emulator, Slack's
published specs (for the cross-checks)."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.settings import normalize_database_url
from storage.db import create_engine, migrate
from tests.harness import MONDAY, RunningBot, World, make_settings, start_bot
from tests.node_emulator import NodeEmulator
from tests.published_specs import need_specs
from tests.slack_emulator import SlackEmulator

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_admin() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(PG_URL, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(
            f"PostgreSQL tests cannot run: {PG_URL} is not reachable ({exc}). Start PostgreSQL "
            "or set TEST_POSTGRES_URL; these tests fail rather than skip.",
            pytrace=False,
        )


@asynccontextmanager
async def fresh_postgres() -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards (async-driver URL)."""
    admin = await _pg_admin()
    name = f"xb_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield normalize_database_url(f"{base}/{name}")
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    async with fresh_postgres() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[str]:
    """Each storage test runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield normalize_database_url(f"sqlite:///{tmp_path / 'test.db'}")
        return
    async with fresh_postgres() as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await migrate(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def slack_specs() -> Path:
    """The folder of Slack's published specs, for a cross-check; without it the test skips
    (fails with CI=true), saying how to get them (tests/published_specs.py)."""
    return need_specs()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY)


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emulator:
        emulator.add_user("UADMIN", name="ada", is_admin=True)
        emulator.add_user("UOWNER", name="owen", is_owner=True)
        emulator.add_user(
            "UPARTNER",
            name="pat",
            real_name="Pat Partner",
            email="pat@partnerco.com",
            tz="America/New_York",
        )
        emulator.add_user("UOTHER", name="olly")
        emulator.add_user("UROBOT", name="robot", is_bot=True)
        emulator.add_user("UGONE", name="gone", deleted=True)
        emulator.add_channel("CNOTICE", name="exalate-notices")
        emulator.add_channel("CPRIVATE", name="secret", is_private=True, is_member=False)
        emulator.add_channel("CARCHIVED", name="old", is_archived=True)
        yield emulator
        assert emulator.problems == [], emulator.problems


@pytest.fixture
async def node() -> AsyncIterator[NodeEmulator]:
    """An Exalate node's REST API (tests/node_emulator.py); a module points the bot at it by
    overriding `bot_settings` with `node.bot_settings()`."""
    async with NodeEmulator() as emulator:
        yield emulator


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    """Settings for the `bot` fixture beyond tests.harness.make_settings'; a test module
    overrides this fixture to change them."""
    return {}


@pytest.fixture
async def bot(
    slack: SlackEmulator, tmp_path: Path, clock: FakeClock, bot_settings: dict[str, Any]
) -> AsyncIterator[RunningBot]:
    """The bot on SQLite, its Web API in the emulator, on the tests' clock."""
    settings = make_settings(slack, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}", **bot_settings)
    running = await start_bot(slack, settings, clock=clock)
    yield running
    await running.stop()


@pytest.fixture
def world(bot: RunningBot, slack: SlackEmulator, clock: FakeClock) -> World:
    return World(bot, slack, clock)


class LogWatch(logging.Handler):
    """Every record of WARNING or worse, on the root logger: its one line, tagged with what
    the test was doing (`tag`), and whether it carries a traceback (exc_info)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.tag: Any = None
        self.seen: list[SeenRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record.getMessage()
        except Exception as exc:  # a record whose arguments don't fit its message
            line = f"{record.msg!r} (unformattable: {type(exc).__name__})"
        error = record.exc_info[1] if record.exc_info else None
        text = line + "\n" + (record.exc_text or "")
        if error is not None and not record.exc_text:
            text += logging.Formatter().formatException(record.exc_info)  # type: ignore[arg-type]
        self.seen.append(
            SeenRecord(
                tag=self.tag,
                logger=record.name,
                level=record.levelname,
                line=line.splitlines()[0][:300] if line else "",
                error=type(error).__name__ if error is not None else None,
                text=text,
            )
        )

    @property
    def tracebacks(self) -> list[SeenRecord]:
        return [r for r in self.seen if r.error is not None]


@dataclass(frozen=True)
class SeenRecord:
    tag: Any
    logger: str
    level: str
    line: str
    error: str | None  # the exception's type, when the record carries a traceback
    text: str  # the whole record as a handler would write it, traceback included

    def __str__(self) -> str:
        error = f" [{self.error}]" if self.error else ""
        return f"{self.level} {self.logger}: {self.line}{error}"


@pytest.fixture
def log_watch() -> Iterator[LogWatch]:
    """A LogWatch on the root logger for the test's length."""
    watch = LogWatch()
    root = logging.getLogger()
    root.addHandler(watch)
    yield watch
    root.removeHandler(watch)
