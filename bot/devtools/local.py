"""The real bot on a loopback port, for the demo and the tests: its web app, its services on
a given clock, and a pacer that keeps count without sleeping (the clock is fake)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from bot.backend.base import ConnectionBackend
from bot.clock import Clock
from bot.services import Services
from bot.settings import Settings
from bot.slack.pacing import Pacer


async def _no_wait(_: float) -> None:
    return None


async def serve_locally(
    settings: Settings,
    *,
    clock: Clock,
    backend: Callable[[Services], ConnectionBackend] | None = None,
    real_pace: bool = False,
) -> tuple[Services, web.AppRunner, str]:
    """Start the bot on 127.0.0.1 (a free port); its services, its runner (clean it up to
    stop it) and its base URL. The pacer sleeps only with `real_pace`; otherwise it keeps
    time by `clock`, as everything else does."""
    from bot.app import create_services, create_web_app
    from bot.edge import LINGER_SECONDS

    services = create_services(settings, clock=clock)
    if not real_pace:  # on the given clock: a Retry-After ends when that clock says so
        services.pacer = Pacer(
            per_minute=settings.slack_messages_per_minute,
            monotonic=lambda: clock.now().timestamp(),
            sleep=_no_wait,
        )
    if backend is not None:
        services.backend = backend(services)
    runner = web.AppRunner(
        create_web_app(services),
        access_log=None,
        shutdown_timeout=1,
        lingering_time=LINGER_SECONDS,
    )
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return services, runner, f"http://127.0.0.1:{runner.addresses[0][1]}"
