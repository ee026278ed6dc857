"""`exalate-bot` / `python -m bot`: load the configuration, then serve.

Configuration problems end the process with exit code 2 and one line on stderr.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Coroutine
from typing import Any

from aiohttp import web

from bot.settings import ConfigError, Settings, load_settings

EXIT_CONFIG = 2
USAGE = """usage: exalate-bot [check | demo | install-url]

  exalate-bot              run the Exalate Slack bot
  exalate-bot check        check the Slack token, the Exalate node and the database, then exit
  exalate-bot demo         run the whole story against an embedded Slack emulator (no
                           configuration, no Slack workspace) and print what everyone sees
  exalate-bot install-url  print the link that adds the app to a workspace (OAuth mode), for
                           the partner company's Slack admin

Configure it with environment variables or a .env file (see README.md)."""


def configure_logging(level: str, fmt: str = "text") -> None:
    """Logs on stderr, as text or (LOG_FORMAT=json) one JSON object a line; secrets masked."""
    from bot.security import RedactingFilter, install_log_redaction

    install_log_redaction()
    handler = logging.StreamHandler()
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    if level != "DEBUG":  # request bodies are logged at DEBUG only
        for noisy in ("slack_sdk", "slack_bolt", "aiohttp.access", "alembic", "apscheduler"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


# Young collections after this many new objects (CPython: 700), and the older generations
# less often too. A burst of requests allocates fast and most of it dies young (freed by
# reference counting, never traced); collecting every 700 allocations traced the requests
# still in flight again and again: 10% of the CPU per answer at 50 concurrent users.
GC_THRESHOLDS = (50_000, 20, 100)


def settle_heap() -> int:
    """Once started: free start-up's garbage, then move every object left (modules, the app,
    pools: they live as long as the process) out of the garbage collector's reach. A full
    collection then scans only what requests made, not 130,000 objects for 65-75 ms while
    every request in flight waits. Returns how many objects are now left alone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return gc.get_freeze_count()


async def serve(settings: Settings) -> str | None:
    """Serve until SIGTERM or SIGINT; return a one-line problem if the bot cannot start, or
    if Slack refuses a token once it answers (bot.startup)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import LINK_KEY, create_services, create_web_app
    from bot.edge import LINGER_SECONDS
    from bot.startup import Refused

    try:
        services = create_services(settings)
    except ConfigError as exc:
        return str(exc)
    runner = web.AppRunner(create_web_app(services), access_log=None, lingering_time=LINGER_SECONDS)
    try:
        await runner.setup()  # migrates the database, asks Slack, connects Socket Mode
    except (SQLAlchemyError, OSError) as exc:
        await runner.cleanup()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return (
            f"DATABASE_URL: cannot open or migrate the database ({type(exc).__name__}: "
            f"{reason}); check that it is reachable and that the user may create tables."
        )
    except Refused as exc:
        await runner.cleanup()
        return str(exc)
    link = runner.app[LINK_KEY]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # before listening, so that no request waits for its full collection
    logging.getLogger("bot").debug("%d start-up objects left out of collections", settle_heap())
    try:
        site = web.TCPSite(runner, port=settings.port)
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        return f"PORT: cannot listen on port {settings.port} ({exc.strerror}); choose a free port."
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    logging.getLogger("bot").info("listening on port %s (%s)", settings.port, mode)
    await _first(stop.wait(), link.refused.wait())
    logging.getLogger("bot").info("shutting down")
    await runner.cleanup()  # finishes in-flight requests, closes the socket and the database
    return str(link.refusal) if link.refusal is not None else None


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    """Wait until one of `waits` is done; cancel the others."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()


def print_install_url(settings: Settings) -> int:
    """The "Add to Slack" link on stdout (nothing else there: it can be piped); what to know
    about it on stderr."""
    from bot.installs.oauth import install_url

    if not settings.oauth:
        print(
            "exalate-bot: install-url needs OAuth mode: set SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET (Basic Information → App Credentials).",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    print(install_url(settings))
    if settings.exalate_public_url is None:
        print(
            "exalate-bot: EXALATE_PUBLIC_URL is not set, so this link works on this machine "
            "only; set it to the https URL where Slack reaches the bot's PORT.",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    if args == ["demo"]:
        from bot.demo import main as demo

        return demo()
    if args and args not in (["check"], ["install-url"]):
        print(f"exalate-bot: unknown argument {args[0]!r}; run exalate-bot --help", file=sys.stderr)
        return EXIT_CONFIG
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"exalate-bot: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args == ["install-url"]:
        return print_install_url(settings)
    configure_logging(settings.log_level, settings.log_format)
    if args == ["check"]:
        from bot.check import run_checks

        checks = asyncio.run(run_checks(settings))
        for check in checks:
            print(check.line())
        return 0 if all(check.ok for check in checks) else 1
    problem = asyncio.run(serve(settings))
    if problem:
        print(f"exalate-bot: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
