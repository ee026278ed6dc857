"""The first minute: a token Slack refuses ends `python -m bot` with exit 2 and one line naming
the variable; a Slack that can't be reached is a warning, the bot serves, and it carries on once
Slack answers (bot/startup.py). Most tests run the real command against the Slack emulator or a
tiny server of their own, each bounded by a timeout."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.check import check_slack
from bot.devtools.slack_requests import command_payload
from bot.settings import Settings
from bot.startup import REFUSALS, UNAVAILABLE, Refused, SlackLink, Unavailable, ask
from tests.harness import SIGNING_SECRET, eventually, free_port
from tests.slack_emulator import SlackEmulator

ROOT = Path(__file__).resolve().parents[1]
EXIT_WITHIN = 30  # seconds: a bound on a start-up that exits, far above what it takes


@dataclass
class Bot:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def stderr(self) -> str:
        return self.log.read_text()

    async def exit_code(self, within: float = EXIT_WITHIN) -> int:
        return await asyncio.wait_for(self.process.wait(), within)

    async def healthy(self, within: float = 20) -> None:
        async def ok() -> bool:
            assert self.process.returncode is None, self.stderr
            try:
                async with (
                    aiohttp.ClientSession() as http,
                    http.get(f"http://127.0.0.1:{self.port}/healthz") as response,
                ):
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(ok, within=within)

    async def logged(self, text: str, within: float = 15) -> None:
        await eventually(lambda: text in self.stderr, within=within)


@asynccontextmanager
async def run_bot(tmp_path: Path, **env: str) -> AsyncIterator[Bot]:
    """`python -m bot` with `env` (SLACK_…), a fresh SQLite database and a free port; stopped
    (SIGTERM, then SIGKILL) when the block ends."""
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    clean |= {
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "PORT": str(port),
        "SWEEP_INTERVAL": "1h",
        **env,
    }
    log = tmp_path / "stderr.log"
    with log.open("wb") as err:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            env=clean,
            cwd=tmp_path,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield Bot(process, port, log)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


def http_mode(slack: SlackEmulator, **env: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        **env,
    }


def socket_mode(slack: SlackEmulator, **env: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_APP_TOKEN": slack.app_token,
        "SLACK_API_URL": slack.base_url,
        **env,
    }


def one_line(bot: Bot, variable: str) -> str:
    text = bot.stderr
    assert "Traceback" not in text, text
    [line] = text.strip().splitlines()
    assert line.startswith(f"exalate-bot: {variable}: "), line
    return line


# --- refusals: exit 2, one line ----------------------------------------------------------


@pytest.mark.parametrize("error", [None, "token_revoked", "missing_scope", "account_inactive"])
async def test_a_refused_app_token_exits_2_with_one_line(
    slack: SlackEmulator, tmp_path: Path, error: str | None
) -> None:
    if error is None:  # a token the emulator doesn't know: invalid_auth
        env = socket_mode(slack, SLACK_APP_TOKEN="xapp-1-A0-not-this-app")
    else:
        env = socket_mode(slack)
        slack.fail_next("apps.connections.open", error=error)
    started = time.monotonic()
    async with run_bot(tmp_path, **env) as bot:
        assert await bot.exit_code() == 2
    line = one_line(bot, "SLACK_APP_TOKEN")
    assert f"({error or 'invalid_auth'})" in line and "connections:write" in line
    assert "xapp-1-A0-not-this-app" not in line
    assert len(slack.calls_to("apps.connections.open")) == 1  # asked once, not retried
    assert time.monotonic() - started < EXIT_WITHIN


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_a_refused_bot_token_exits_2_with_one_line(
    slack: SlackEmulator, tmp_path: Path, mode: str
) -> None:
    make = http_mode if mode == "http" else socket_mode
    async with run_bot(tmp_path, **make(slack, SLACK_BOT_TOKEN="xoxb-1-revoked")) as bot:
        assert await bot.exit_code() == 2
    line = one_line(bot, "SLACK_BOT_TOKEN")
    assert "(invalid_auth)" in line and "xoxb-1-revoked" not in line
    assert len(slack.calls_to("auth.test")) == 1
    assert slack.calls_to("apps.connections.open") == []  # the bot token is asked first


async def test_token_revoked_is_a_refusal_too(slack: SlackEmulator, tmp_path: Path) -> None:
    slack.fail_next("auth.test", error="token_revoked")
    async with run_bot(tmp_path, **http_mode(slack)) as bot:
        assert await bot.exit_code() == 2
    assert "(token_revoked)" in one_line(bot, "SLACK_BOT_TOKEN")


# --- an unreachable Slack: the bot starts, and carries on -------------------------------


async def test_http_mode_starts_while_slack_is_unreachable_and_carries_on(
    tmp_path: Path,
) -> None:
    slack_port = free_port()  # nothing listens there yet
    calls: list[str] = []

    async def auth_test(request: web.Request) -> web.Response:
        calls.append(request.match_info["method"])
        return web.json_response({"ok": True, "team": "Acme", "user": "exalate"})

    env = {
        "SLACK_BOT_TOKEN": "xoxb-1-abc",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": f"http://127.0.0.1:{slack_port}/api/",
    }
    async with run_bot(tmp_path, **env) as bot:
        await bot.healthy()
        await bot.logged("keeps trying")
        [warning] = [line for line in bot.stderr.splitlines() if "WARNING" in line]
        assert "Slack can't be reached" in warning and "ClientConnectorError" in warning

        app = web.Application()
        app.router.add_post("/api/{method}", auth_test)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", slack_port).start()
        try:
            await eventually(lambda: calls == ["auth.test"], within=15)
            await bot.logged("Slack answers")
            await bot.healthy()
        finally:
            await runner.cleanup()
        bot.process.send_signal(signal.SIGTERM)
        assert await bot.exit_code(within=10) == 0
    assert "Traceback" not in bot.stderr
    assert calls == ["auth.test"]  # once it answered, it was not asked again


async def test_socket_mode_connects_once_slack_answers(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    slack.add_user("UADMIN", name="ada", is_admin=True)
    slack.fail_next("auth.test", status=503)
    slack.fail_next("apps.connections.open", status=503)
    async with run_bot(tmp_path, **socket_mode(slack)) as bot:
        await bot.healthy()
        await slack.socket_connected(timeout=20)
        assert [c.failed for c in slack.calls_to("auth.test")] == [True, False]
        assert [c.failed for c in slack.calls_to("apps.connections.open")] == [True, False]
        ack = await slack.socket_send(
            "slash_commands",
            command_payload(
                text="help",
                trigger_id=slack.issue_trigger_id(),
                response_url=slack.response_url(),
                user_id="UADMIN",
                team_id=slack.team_id,
                user_name="ada",
            ),
        )
        assert "envelope_id" in ack
        await bot.logged("connected in Socket Mode")
    log = bot.stderr
    assert "Traceback" not in log
    assert "keeps trying" in log and "HTTP 503 internal_error" in log


async def test_a_refusal_after_the_start_stops_the_bot(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    slack.fail_next("auth.test", status=503)  # first unreachable, then: invalid_auth
    async with run_bot(tmp_path, **http_mode(slack, SLACK_BOT_TOKEN="xoxb-1-gone")) as bot:
        assert await bot.exit_code() == 2
    log = bot.stderr
    assert "Traceback" not in log and "keeps trying" in log
    [error] = [line for line in log.splitlines() if " ERROR " in line]
    assert "SLACK_BOT_TOKEN" in error and "(invalid_auth)" in error
    assert log.strip().splitlines()[-1].startswith("exalate-bot: SLACK_BOT_TOKEN: ")


async def test_sigterm_while_retrying_is_prompt(tmp_path: Path) -> None:
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1-abc",
        "SLACK_APP_TOKEN": "xapp-1-abc",
        "SLACK_API_URL": f"http://127.0.0.1:{free_port()}/api/",  # never answers
    }
    async with run_bot(tmp_path, **env) as bot:
        await bot.healthy()
        await bot.logged("keeps trying")
        started = time.monotonic()
        bot.process.send_signal(signal.SIGTERM)
        assert await bot.exit_code(within=10) == 0
        assert time.monotonic() - started < 5
    assert "Traceback" not in bot.stderr


# --- the classification, shared with `exalate-bot check` --------------------------------


def test_refusals_and_slacks_trouble_are_apart() -> None:
    assert not REFUSALS & UNAVAILABLE
    assert {"invalid_auth", "token_revoked", "not_allowed_token_type"} <= REFUSALS


async def _ask(slack: SlackEmulator, token: str | None = None) -> Any:
    client = AsyncWebClient(token=token or slack.bot_token, base_url=slack.base_url)
    return await ask(client.auth_test(), method="auth.test", variable="SLACK_BOT_TOKEN")


async def test_ask_tells_a_refusal_from_trouble(slack: SlackEmulator) -> None:
    assert (await _ask(slack))["ok"]
    with pytest.raises(Refused) as refused:
        await _ask(slack, token="xoxb-1-wrong")
    assert refused.value.error == "invalid_auth" and str(refused.value).startswith(
        "SLACK_BOT_TOKEN: "
    )
    slack.fail_next("auth.test", status=429, retry_after=7)
    with pytest.raises(Unavailable) as limited:
        await _ask(slack)
    assert limited.value.retry_after == 7 and "ratelimited" in limited.value.reason
    slack.fail_next("auth.test", error="invalid_auth", status=503)  # a 5xx is never a refusal
    with pytest.raises(Unavailable):
        await _ask(slack)
    slack.fail_next("auth.test", error="fatal_error")
    with pytest.raises(Unavailable, match="fatal_error"):
        await _ask(slack)
    client = AsyncWebClient(token="xoxb-1", base_url=f"http://127.0.0.1:{free_port()}/api/")
    with pytest.raises(Unavailable, match="ClientConnectorError"):
        await ask(client.auth_test(), method="auth.test", variable="SLACK_BOT_TOKEN")


def _settings(slack: SlackEmulator, **values: Any) -> Settings:
    given: dict[str, Any] = {
        "slack_bot_token": slack.bot_token,
        "slack_signing_secret": "s",
        "slack_api_url": slack.base_url,
        "slack_timeout": timedelta(seconds=5),
        **values,
    }
    return Settings(_env_file=None, **given)  # type: ignore[call-arg]


async def test_check_judges_as_the_start_up_does(slack: SlackEmulator) -> None:
    ok = await check_slack(_settings(slack))
    assert ok.line() == "slack: ok (workspace Exalate Test, bot user exalate)"
    socket = await check_slack(_settings(slack, slack_app_token=slack.app_token))
    assert socket.ok and "Socket Mode token ok" in socket.detail

    slack.fail_next("auth.test", error="token_revoked")
    revoked = await check_slack(_settings(slack))
    assert revoked.line() == "slack: FAILED (auth.test said token_revoked: check SLACK_BOT_TOKEN)"

    wrong_app = await check_slack(_settings(slack, slack_app_token="xapp-1-wrong"))
    assert wrong_app.detail == "apps.connections.open said invalid_auth: check SLACK_APP_TOKEN"

    slack.fail_next("auth.test", status=503)
    down = await check_slack(_settings(slack))
    assert down.detail == f"HTTP 503 internal_error reaching {slack.base_url}"
    assert "SLACK_BOT_TOKEN" not in down.detail  # Slack's trouble is not the token's fault


async def test_a_websocket_that_does_not_open_is_tried_again_with_a_fresh_url(
    slack: SlackEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """apps.connections.open answers, but its first URL leads nowhere: given up after
    SLACK_TIMEOUT, the next try asks for a new URL (slack_sdk alone would retry the stale one)."""
    issued: list[str] = []
    urls = iter([f"ws://127.0.0.1:{free_port()}/socket", slack.socket_url])

    async def api(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        issued.append(method)
        if method == "auth.test":
            return web.json_response({"ok": True, "team": "Acme", "user": "exalate"})
        return web.json_response({"ok": True, "url": next(urls)})

    app = web.Application()
    app.router.add_post("/api/{method}", api)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base_url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/"
    settings = _settings(
        slack, slack_api_url=base_url, slack_app_token=slack.app_token, slack_timeout="1s"
    )
    bolt = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=base_url),
        request_verification_enabled=False,
    )
    bolt.client.session = aiohttp.ClientSession()
    link = SlackLink(settings, bolt, backoff=(0.05, 0.1))
    try:
        with caplog.at_level(logging.INFO, logger="bot.startup"):
            await link.start()
            assert not link.ready.is_set() and "did not open within 1s" in caplog.text
            await asyncio.wait_for(link.ready.wait(), 10)
        await slack.socket_connected()
        assert issued == ["auth.test", "apps.connections.open", "apps.connections.open"]
        assert "connected in Socket Mode" in caplog.text and not link.refused.is_set()
    finally:
        await link.close()
        await bolt.client.session.close()
        await runner.cleanup()
