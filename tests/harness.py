"""The bot under test: the real aiohttp server on a loopback port, its Web API calls going to
the Slack emulator, and a SlackSender that signs requests into `/slack/events`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.app import create_services, create_web_app
from bot.backend.base import ConnectionBackend
from bot.clock import FakeClock
from bot.services import Services
from bot.settings import Settings
from tests.slack_emulator import SlackEmulator
from tests.slack_requests import SlackSender

SIGNING_SECRET = "test-signing-secret"
TEAM = "T0001"


def make_settings(emulator: SlackEmulator, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": emulator.bot_token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": emulator.base_url,
        "database_url": database_url,
        "port": 0,
        "exalate_local_instance": "acme",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class RunningBot:
    services: Services
    runner: web.AppRunner
    url: str
    sender: SlackSender | None = field(default=None)

    async def stop(self) -> None:
        if self.sender is not None:
            await self.sender.close()
        await self.runner.cleanup()


async def start_bot(
    emulator: SlackEmulator,
    settings: Settings,
    *,
    clock: FakeClock,
    backend: Callable[[Services], ConnectionBackend] | None = None,
) -> RunningBot:
    services = create_services(settings, clock=clock)
    if backend is not None:
        services.backend = backend(services)
    runner = web.AppRunner(create_web_app(services), access_log=None, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    bot = RunningBot(services=services, runner=runner, url=f"http://127.0.0.1:{port}")
    if settings.slack_signing_secret is not None:
        bot.sender = SlackSender(
            bot_url=f"{bot.url}/slack/events",
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            emulator=emulator,
            team_id=TEAM,
        )
    return bot


async def eventually(check: Callable[[], Any], *, within: float = 5.0) -> Any:
    """Wait until `check()` (awaited when it is a coroutine) is truthy: for work the bot does
    after its acknowledgement. Returns that truthy value."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {within}s: {check}")
        await asyncio.sleep(0.01)
