"""OAuth mode end to end, over HTTP: Acme and Globex each install the app through
/slack/install, then Ada (Acme) invites Pat (Globex), found by e-mail in Globex's Slack."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.clock import FakeClock
from bot.devtools.waiting import eventually
from bot.installs.workspaces import Installed
from tests.harness import RunningBot
from tests.slack_emulator import SlackEmulator
from tests.two_workspaces import (
    ACME,
    CLIENT_ID,
    GLOBEX,
    companies,
    install,
    oauth_bot_in,
)


@pytest.fixture
async def slack() -> AsyncIterator[SlackEmulator]:
    async with companies() as emulator:
        yield emulator


@pytest.fixture
async def oauth_bot(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    async with oauth_bot_in(slack, database_url, clock, reminder_hours="09:00-18:00") as running:
        yield running


async def test_each_workspace_installs_through_the_install_page(
    oauth_bot: RunningBot, slack: SlackEmulator
) -> None:
    acme = await install(oauth_bot, slack, team=ACME, user="UADA")
    assert acme.status == 200, acme.page
    assert acme.authorize_query["client_id"] == CLIENT_ID
    assert "users:read.email" in acme.authorize_query["scope"].split(",")
    assert acme.authorize_query["state"]
    globex = await install(oauth_bot, slack, team=GLOBEX, user="UGADMIN")
    assert globex.status == 200, globex.page
    # each workspace got its own token, and the bot swapped each code once
    exchanges = slack.calls_to("oauth.v2.access")
    assert len(exchanges) == 2 and all(c.status == 200 for c in exchanges)
    tokens = {slack.workspace(t).bot_token for t in (ACME, GLOBEX)}
    assert len(tokens) == 2 and None not in tokens
    workspaces = oauth_bot.services.workspaces
    assert workspaces is not None
    assert sorted([*await workspaces.others(ACME), ACME]) == [ACME, GLOBEX]


async def test_an_install_without_the_state_cookie_is_refused(
    oauth_bot: RunningBot, slack: SlackEmulator
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as browser:  # no cookie jar: the state is lost
        async with browser.get(f"{oauth_bot.url}/slack/install") as page:
            html = await page.text()
        match = re.search(r'href="([^"]+/oauth/v2/authorize[^"]*)"', html)
        assert match, html
        authorize = match.group(1).replace("&amp;", "&")
        async with browser.get(
            authorize, params={"team": ACME, "user": "UADA"}, allow_redirects=False
        ) as slack_page:
            back = slack_page.headers["Location"]
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as other,
            other.get(back) as done,
        ):
            assert done.status == 400
    assert slack.calls_to("oauth.v2.access") == []
    assert slack.workspace(ACME).bot_token is None


async def test_no_bot_token_in_the_database_file(
    oauth_bot: RunningBot, slack: SlackEmulator, database_url: str
) -> None:
    await install(oauth_bot, slack, team=ACME, user="UADA")
    await install(oauth_bot, slack, team=GLOBEX, user="UGADMIN")
    tokens = [slack.workspace(t).bot_token for t in (ACME, GLOBEX)]
    if database_url.startswith("sqlite"):
        path = oauth_bot.services.settings.sqlite_path
        assert path is not None
        raw = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert all(t and t.encode() not in raw for t in tokens)
    from sqlalchemy import text

    async with oauth_bot.services.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT bot_token FROM slack_bots"))).all()
    dumped = json.dumps([list(r) for r in rows])
    assert rows and all(t not in dumped for t in tokens if t)


async def test_check_counts_the_installed_workspaces(
    oauth_bot: RunningBot, slack: SlackEmulator
) -> None:
    from bot.check import run_checks

    await install(oauth_bot, slack, team=ACME, user="UADA")
    await install(oauth_bot, slack, team=GLOBEX, user="UGADMIN")
    checks = {c.part: c for c in await run_checks(oauth_bot.services.settings)}
    assert checks["slack"].ok and "OAuth mode, installs at" in checks["slack"].detail
    assert checks["database"].ok and "installed in 2 workspaces" in checks["database"].detail


async def test_requests_are_authorized_from_the_cache_without_asking_slack(
    oauth_bot: RunningBot, slack: SlackEmulator
) -> None:
    await install(oauth_bot, slack, team=ACME, user="UADA")
    await install(oauth_bot, slack, team=GLOBEX, user="UGADMIN")
    workspaces = oauth_bot.services.workspaces
    assert isinstance(workspaces, Installed)
    found: list[str | None] = []
    find_bot = workspaces.store.async_find_bot

    async def counted(**kwargs: Any) -> Any:
        found.append(kwargs.get("team_id"))
        return await find_bot(**kwargs)

    workspaces.store.async_find_bot = counted  # type: ignore[method-assign]
    workspaces.forget(ACME)  # as another replica's process would start: nothing cached
    workspaces.forget(GLOBEX)
    assert oauth_bot.sender is not None
    calls = len(slack.calls)
    for n in range(10):
        team, user = (ACME, "UADA") if n % 2 else (GLOBEX, "UPAT")
        answer = await oauth_bot.sender.command("help", user_id=user, team_id=team)
        assert answer.status == 200 and "/exalate" in answer.text
    assert slack.calls[calls:] == []  # no auth.test, nothing: the answer is the ack
    assert sorted(found) == [ACME, GLOBEX]  # the store once per workspace, then the cache


async def test_a_workspace_that_never_installed_gets_no_answer_from_its_token(
    oauth_bot: RunningBot, slack: SlackEmulator
) -> None:
    await install(oauth_bot, slack, team=ACME, user="UADA")
    assert oauth_bot.sender is not None
    answer = await oauth_bot.sender.command("help", user_id="UPAT", team_id=GLOBEX)
    assert answer.status == 200
    await eventually(lambda: bool(slack.responses))
    said = slack.responses[-1]["text"]
    assert "isn't installed in this workspace" in said and "/slack/install" in said
    assert slack.calls_in(GLOBEX) == []


async def test_an_install_left_too_long_is_refused_and_its_state_purged(
    oauth_bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    from datetime import timedelta

    from sqlalchemy import text

    from bot.sweep import sweep

    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(f"{oauth_bot.url}/slack/install") as page:
            match = re.search(r'href="([^"]+/oauth/v2/authorize[^"]*)"', await page.text())
        assert match
        async with browser.get(
            match.group(1).replace("&amp;", "&"),
            params={"team": ACME, "user": "UADA"},
            allow_redirects=False,
        ) as slack_page:
            back = slack_page.headers["Location"]
        clock.advance(timedelta(minutes=11))  # the admin went for lunch on Slack's page
        await sweep(oauth_bot.services)
        async with oauth_bot.services.engine.connect() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM slack_oauth_states"))).scalar()
        assert left == 0
        async with browser.get(back) as done:
            assert done.status == 401  # Bolt's answer for a state it no longer has
    assert slack.calls_to("oauth.v2.access") == []


@pytest.mark.parametrize(
    "team",
    [{"id": {"$ne": None}}, {"id": ["T0ACME"]}, {"id": "T0ACME' OR 1=1 --"}, {"id": "T" * 5000}],
)
async def test_a_signed_payload_with_a_strange_team_reaches_no_installation(
    oauth_bot: RunningBot, slack: SlackEmulator, team: dict[str, Any], log_watch: Any
) -> None:
    """Bolt authorizes before the typed reading: a team id of any other shape than Slack's
    is nobody's installation (no store read, no Slack call, no 5xx, no traceback)."""
    from urllib.parse import urlencode

    await install(oauth_bot, slack, team=ACME, user="UADA")
    assert oauth_bot.sender is not None
    calls = len(slack.calls)
    payload = {
        "type": "block_actions",
        "team": team,
        "user": {"id": "UADA"},
        "api_app_id": "A0001",
        "actions": [{"action_id": "partner_accept", "value": "1", "type": "button"}],
        "trigger_id": "1.2.3",
    }
    answer = await oauth_bot.sender.post(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )
    assert answer.status < 500
    assert slack.calls[calls:] == []
    assert not [seen for seen in log_watch.seen if seen.error]
