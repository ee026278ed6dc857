"""The app factory: services, the Bolt app, and the aiohttp server around it.

The aiohttp server always runs on PORT with `GET /healthz`; `POST /slack/events` is served
whenever a signing secret is set (HTTP mode, or both). With SLACK_APP_TOKEN the bot also
connects in Socket Mode.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

import handlers
from bot.backend.base import ConnectionBackend, parse_projects
from bot.backend.local import LocalNode
from bot.backend.node import ExalateNode
from bot.clock import Clock
from bot.edge import BOLT_KEY, MAX_BODY, SERVICES_KEY, add_routes
from bot.idempotency import Once
from bot.installs.routes import add_oauth_routes
from bot.invitations.reach import Reach
from bot.metrics import SlackCallCounter
from bot.permissions import Permissions
from bot.scheduler import create_scheduler
from bot.security import Vault, install_log_redaction, key_file_for, load_or_create_key
from bot.services import Services
from bot.settings import ConfigError, Settings
from bot.slack.listeners import report_failure
from bot.slack.middleware import ReadPayload
from bot.startup import SlackLink, web_client
from storage import repo
from storage.db import create_engine, migrate, session_factory, warm_up

log = logging.getLogger(__name__)

LINK_KEY = web.AppKey("slack_link", SlackLink)


def create_services(
    settings: Settings,
    *,
    clock: Clock | None = None,
    engine: AsyncEngine | None = None,
    backend: ConnectionBackend | None = None,
) -> Services:
    clock = clock or Clock()
    engine = engine or create_engine(settings.database_url)
    sessions = session_factory(engine)
    if backend is None:
        backend = create_backend(settings, sessions=sessions, clock=clock)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        backend=backend,
        clock=clock,
        permissions=Permissions(settings.exalate_admins),
        vault=vault_for(settings),
    )


def vault_for(settings: Settings) -> Vault:
    """EXALATE_SECRET_KEY, or the embedded default: a key file beside the SQLite database."""
    if settings.exalate_secret_key is not None:
        return Vault(settings.exalate_secret_key.get_secret_value().encode())
    assert settings.sqlite_path is not None  # the settings refuse anything else
    path = key_file_for(settings.sqlite_path)
    try:
        return Vault(load_or_create_key(path))
    except OSError as exc:
        raise ConfigError(
            f"EXALATE_SECRET_KEY is missing and the key file {path} can't be made or read "
            f"({exc.strerror}): set EXALATE_SECRET_KEY, or make the folder writable."
        ) from None
    except ValueError:
        raise ConfigError(
            f"EXALATE_SECRET_KEY is missing and the key file {path} holds no Fernet key: "
            "restore the file, or set EXALATE_SECRET_KEY."
        ) from None


class _QuietClientWarning(logging.Filter):
    """Bolt warns that SLACK_BOT_TOKEN is unused when it is given a client, as it is here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in record.getMessage()


logging.getLogger("slack_bolt.AsyncApp").addFilter(_QuietClientWarning())


def create_backend(
    settings: Settings, *, sessions: async_sessionmaker[AsyncSession], clock: Clock
) -> ConnectionBackend:
    """The real node when EXALATE_NODE_URL is set, else the embedded local node."""
    if settings.exalate_node_url:
        return ExalateNode(
            base_url=settings.exalate_node_url,
            instance=settings.exalate_local_instance,
            token=settings.exalate_node_token,
            user=settings.exalate_node_user,
            password=settings.exalate_node_password,
        )
    return LocalNode(
        sessions=sessions,
        instance=settings.exalate_local_instance,
        projects=parse_projects(settings.exalate_local_projects),
        clock=clock,
    )


def create_bolt_app(services: Services) -> AsyncApp:
    settings = services.settings
    client = web_client(
        settings,
        retry_handlers=[AsyncConnectionErrorRetryHandler(), SlackCallCounter(services.metrics)],
    )
    secret = settings.slack_signing_secret
    oauth: dict[str, Any] = {}
    if settings.oauth:  # installs in many workspaces: bot/installs
        from bot.installs.setup import oauth_parts

        oauth = oauth_parts(services, on_installed=Reach(services).installed)
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else "",
        # POST /slack/events checks Slack's signature before Bolt sees a byte (bot.edge),
        # and Socket Mode's requests come over the app's own connection: no second check
        request_verification_enabled=False,
        # answer as soon as a listener acks, without Bolt's 10 ms polling for the ack: the
        # listeners' work after their ack goes on in tasks of their own (bot.slack.listeners)
        process_before_response=True,
        # Bolt's self-event filter runs before any app.use() middleware and indexes into the
        # body unchecked (a signed `event` that is a string answered 500); the bot listens to
        # no message events, where it matters: the typed reading below goes first instead
        ignoring_self_events_enabled=False,
        **oauth,
    )
    app.use(ReadPayload(services))  # the typed reading, before the event claim and matching
    app.use(_Services(services))
    app.error(on_error)
    handlers.register(app)
    services.slack = app.client
    return app


class _Services(AsyncMiddleware):
    """Puts the services in every request's context, and acts on an event once: Slack
    retries one it thinks we missed (X-Slack-Retry-Num). A middleware object, not a function,
    so Bolt doesn't work out its arguments on every request."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        req.context["services"] = self.services
        body = req.body
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not await Once(self.services).claim(f"event:{event_id}"):
            return BoltResponse(status=200, body="")
        return await next()


async def on_error(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
    """A listener failed before answering Slack (the database went away, a bug)."""
    kind = body.get("type") or ("slash_command" if body.get("command") else "request")
    await report_failure(error, kind=kind, respond=respond if body.get("response_url") else None)


def create_web_app(services: Services) -> web.Application:
    """The aiohttp application: routes, and start/stop of the database, backend and socket."""
    install_log_redaction()
    bolt = create_bolt_app(services)
    # aiohttp's own cap, for any body read by its `read()`; POST /slack/events reads its
    # own way, with the same cap (bot.edge: MAX_BODY and why)
    web_app = web.Application(client_max_size=MAX_BODY)
    web_app[SERVICES_KEY] = services
    web_app[BOLT_KEY] = bolt
    web_app.router.add_get("/healthz", _healthz)
    web_app.router.add_get("/metrics", _metrics)
    secret = services.settings.slack_signing_secret
    if secret is not None:  # the size, then the signature, then Bolt: bot.edge
        add_routes(web_app, signing_secret=secret.get_secret_value())
    if services.settings.oauth:
        add_oauth_routes(
            web_app, bolt=bolt, secure_cookies=services.settings.base_url.startswith("https:")
        )
    web_app[LINK_KEY] = SlackLink(services.settings, bolt)
    web_app.cleanup_ctx.append(_lifecycle)
    return web_app


async def _metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES_KEY]
    async with services.sessions() as session:
        connections = await repo.count_all_by_status(session=session)
        invitations = await repo.count_all_invitations_by_state(session=session)
    return web.Response(
        body=services.metrics.render(connections, invitations),
        content_type="text/plain",
        charset="utf-8",
    )


async def _healthz(request: web.Request) -> web.Response:
    services = request.app[SERVICES_KEY]
    try:
        async with asyncio.timeout(2), services.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not healthy"; say which part
        log.warning("health check: database unavailable: %s", type(exc).__name__)
        return web.json_response({"ok": False, "database": "unavailable"}, status=503)
    return web.json_response({"ok": True})


async def _lifecycle(web_app: web.Application) -> Any:
    services = web_app[SERVICES_KEY]
    await migrate(services.engine)
    await warm_up(services.engine)
    # One HTTP session for every Web API call (Bolt's per-request clients share it too):
    # connections to Slack are kept and reused, not opened and closed per call.
    client = web_app[BOLT_KEY].client
    timeout = aiohttp.ClientTimeout(total=services.settings.slack_timeout.total_seconds())
    client.session = aiohttp.ClientSession(timeout=timeout)
    # the tokens, asked about once; Socket Mode connects (bot.startup)
    link = web_app[LINK_KEY]
    try:
        await link.start()
    except BaseException:  # a refused token: leave nothing open behind the exit line
        await link.close()
        await client.session.close()
        await services.backend.close()
        await services.engine.dispose()
        raise
    scheduler = create_scheduler(services)
    scheduler.start()
    yield
    # no new sweep or poll; the one running (tracked) finishes with the listeners' work
    # before the scheduler stops: its shutdown would cancel a job mid-transaction
    scheduler.pause()
    await link.close()
    await services.drain(within=10)
    scheduler.shutdown(wait=False)
    await client.session.close()
    await services.backend.close()
    await services.engine.dispose()
