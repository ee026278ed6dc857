"""Faults: Slack failing each method the bot uses, a crash between the code and its DM, the
database going away and coming back, SQLite under concurrent writers, and SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlmodel import select

from bot.clock import FakeClock
from bot.commands.texts import DATABASE_AWAY as COMMAND_DATABASE_AWAY
from bot.delivery.courier import Courier
from bot.devtools.slack_requests import SlackSender
from bot.wizard.texts import DATABASE_AWAY
from storage import repo
from storage.db import create_engine, migrate, session_factory, transaction
from storage.models import Connection, Outbox
from tests.conftest import PG_URL
from tests.harness import (
    MONDAY,
    SIGNING_SECRET,
    WIZARD,
    Admin,
    World,
    db_rows,
    eventually,
    free_port,
    make_settings,
    start_bot,
)
from tests.slack_emulator import SlackEmulator

FAULTS = {
    "429": {"status": 429, "retry_after": 30},
    "503": {"status": 503},
    "ok false": {"error": "fatal_error"},
    "timeout": {"status": 503, "delay": 1.5},  # the bot's client gives up after 1 s
}


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"slack_timeout": "1s"}


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
async def test_the_admin_check_failing(world: World, slack: SlackEmulator, fault: str) -> None:
    slack.fail_next("users.info", **FAULTS[fault])
    body = (await world.sender.command("connect", user_id="UADMIN")).json
    assert "couldn't check who may do that" in body["text"]
    assert slack.calls_to("views.open") == []
    await Admin(world.bot, slack).connect()  # Slack is back: it works


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
async def test_views_open_failing(world: World, slack: SlackEmulator, fault: str) -> None:
    slack.fail_next("views.open", **FAULTS[fault])
    response = await world.sender.command("connect", user_id="UADMIN")
    assert response.status == 200
    [said] = await eventually(lambda: slack.responses)
    assert "couldn't open the wizard" in said["text"]
    await Admin(world.bot, slack).connect()


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
@pytest.mark.parametrize(
    ("method", "values", "field"),
    [
        ("users.info", {"partner_user_id": "UPARTNER"}, "partner_user_id"),
        ("users.lookupByEmail", {"partner_email": "pat@partnerco.com"}, "partner_email"),
        (
            "conversations.info",
            {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
            "notice_channel",
        ),
    ],
)
async def test_a_step_whose_check_fails_says_so_and_keeps_the_answers(
    world: World, slack: SlackEmulator, fault: str, method: str, values: dict, field: str
) -> None:
    admin = Admin(world.bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD[:4])
    slack.fail_next(method, **FAULTS[fault])
    errors = await admin.errors(view_id, values)
    assert "Slack did not answer" in errors[field]
    assert admin.step(view_id) == "partner"
    await admin.walk(view_id, values)  # the same answers, Slack back: on to the review
    assert admin.step(view_id) == "review"


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
async def test_back_failing_then_working(world: World, slack: SlackEmulator, fault: str) -> None:
    admin = Admin(world.bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD[:2])
    slack.fail_next("views.update", **FAULTS[fault])
    await world.sender.click(action_id="wizard_back", view_id=view_id, user_id="UADMIN")
    await eventually(lambda: slack.calls_to("views.update"))
    assert admin.step(view_id) == "info"  # nothing moved
    assert await admin.back(view_id) == "mode"


@pytest.mark.parametrize("method", ["conversations.open", "chat.postMessage"])
@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
async def test_the_dm_failing_at_initiate_goes_out_later_once(
    world: World, slack: SlackEmulator, method: str, fault: str
) -> None:
    slack.fail_next(method, **FAULTS[fault])
    admin = Admin(world.bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD)
    await eventually(lambda: "goes out as soon as" in json.dumps(slack.views[view_id]))
    assert [m for m in slack.messages if m["channel"].startswith("D")] == []
    world.clock.set(MONDAY.replace(hour=10))  # past any Retry-After or backoff
    await world.sweep()
    await world.sweep()
    dms = [m for m in slack.messages if m["channel"].startswith("D")]
    assert len(dms) == 1 and "EXA1-" in json.dumps(dms[0])


async def test_views_publish_failing_keeps_the_home_to_refresh(
    world: World, slack: SlackEmulator
) -> None:
    code = await world.initiate()
    await world.sender.event({"type": "app_home_opened", "user": "UADMIN", "tab": "home"})
    await eventually(lambda: slack.home_views.get("UADMIN"))
    await world.accept_by_command("UPARTNER", code)
    slack.fail_next("views.publish", status=503)
    assert (await world.sweep()).homes == 0
    assert (await world.sweep()).homes == 1
    assert "*Active* 1" in json.dumps(slack.home_views["UADMIN"], ensure_ascii=False)


async def test_a_crash_between_the_code_and_its_dm_still_delivers_once(
    slack: SlackEmulator, tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(slack, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    first = await start_bot(slack, settings, clock=clock)

    async def killed(self: Courier, **_: Any) -> list:
        raise asyncio.CancelledError  # the process dies right after the commit

    monkeypatch.setattr(Courier, "run", killed)
    admin = Admin(first, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD)  # the code is created and shown
    await asyncio.sleep(0.1)
    assert [m for m in slack.messages if m["channel"].startswith("D")] == []
    await first.stop()
    monkeypatch.undo()

    second = await start_bot(slack, settings, clock=clock)
    try:
        world = World(second, slack, clock)
        assert (await world.sweep()).sent == 3  # the DM, the connection's card, the notice
        assert (await world.sweep()).sent == 0
        dms = [m for m in slack.messages if m["channel"].startswith("D")]
        assert len(dms) == 1 and "EXA1-" in json.dumps(dms[0])
        assert all(o.sent_at for o in await db_rows(second, Outbox))
    finally:
        await second.stop()


@pytest.mark.postgres
async def test_the_database_away_for_a_moment(
    slack: SlackEmulator, postgres_url: str, clock: FakeClock
) -> None:
    """The wizard opens and moves without the database (its answers travel in the view);
    the step that needs it (the name check) says so in the modal, and works once it's back.
    A command that needs it says so too."""
    bot = await start_bot(slack, make_settings(slack, postgres_url), clock=clock)
    name = postgres_url.rsplit("/", 1)[1]
    admin_db = await asyncpg.connect(PG_URL)
    admin = Admin(bot, slack)
    try:
        await admin.connect()  # the workspace-admin check, remembered for a minute
        await admin_db.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin_db.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
        )
        view_id = await admin.connect()
        await admin.walk(view_id, {"destination": "private"}, {"mode": "script"})
        info = {"remote_short_name": "partnerco"}
        errors = await admin.errors(view_id, info)
        assert list(errors.values()) == [DATABASE_AWAY]
        assert bot.sender is not None
        response = await bot.sender.command("list", user_id="UADMIN")
        assert response.status == 200
        assert response.json == {"text": COMMAND_DATABASE_AWAY, "response_type": "ephemeral"}

        await admin_db.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.walk(view_id, info)  # the same answers, now checked
        assert admin.step(view_id) == "project"
    finally:
        await admin_db.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin_db.close()
        await bot.stop()


async def test_sqlite_under_concurrent_writers(tmp_path: Path, clock: FakeClock) -> None:
    """Two engines (as two processes would) writing at once: they wait, nobody fails."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}"
    engines = [create_engine(url) for _ in range(2)]
    await migrate(engines[0])
    sessions = [session_factory(engine) for engine in engines]

    async def write(n: int) -> None:
        async with transaction(sessions[n % 2]) as session:
            draft = await repo.get_draft(session=session, view_key="shared")
            answers = dict(draft.answers) if draft else {}
            answers[str(n)] = n
            await repo.save_draft(
                session=session,
                view_key="shared",
                team_id="T",
                user_id="U",
                step="mode",
                answers=answers,
                now=clock.now(),
            )
            await repo.claim_key(session=session, key=f"k{n}", now=clock.now())

    try:
        await asyncio.gather(*(write(n) for n in range(60)))
        async with sessions[1]() as session:
            draft = await repo.get_draft(session=session, view_key="shared")
        assert draft is not None and len(draft.answers) == 60  # no update lost either
    finally:
        for engine in engines:
            await engine.dispose()


async def test_sigterm_lets_work_in_flight_finish(slack: SlackEmulator, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    env |= {
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PORT": str(port),
        "SWEEP_INTERVAL": "1h",
    }
    log = (tmp_path / "bot.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    sender = SlackSender(
        bot_url=f"http://127.0.0.1:{port}/slack/events",
        signing_secret=SIGNING_SECRET,
        emulator=slack,
    )
    try:
        import aiohttp

        async def up() -> bool:
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"http://127.0.0.1:{port}/healthz") as r,
                ):
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(up, within=20)
        await sender.command("connect", user_id="UADMIN")
        view_id = (await eventually(lambda: slack.calls_to("views.open")))[0].response["view"]["id"]
        for values in WIZARD[:-1]:
            await sender.submit_view(view_id, values, user_id="UADMIN")
        slack.fail_next("conversations.open", delay=1.5)  # a slow Slack, but it answers
        await sender.submit_view(view_id, {}, user_id="UADMIN")  # Initiate: the DM is slow
        process.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(process.wait, 20)
        assert code == 0
        dms = [m for m in slack.messages if m["channel"].startswith("D")]
        assert len(dms) == 1, (tmp_path / "bot.log").read_text()
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
        async with session_factory(engine)() as session:
            [connection] = (await session.exec(select(Connection))).all()
            pending = (await session.exec(select(Outbox))).all()
        await engine.dispose()
        assert connection.status == "PENDING"
        assert all(row.sent_at for row in pending)
        assert "shutting down" in (tmp_path / "bot.log").read_text()
    finally:
        await sender.close()
        log.close()
        if process.poll() is None:
            process.kill()
