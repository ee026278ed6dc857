"""The app factory: services, the Bolt app, and the aiohttp server around it.

The aiohttp server always runs on PORT with `GET /healthz`; `POST /slack/events` is served
whenever a signing secret is set (HTTP mode, or both). With SLACK_APP_TOKEN the bot also
connects in Socket Mode.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from yarl import URL

import handlers
from bot.backend.base import ConnectionBackend
from bot.backend.local import LocalNode, parse_projects
from bot.backend.node import ExalateNode
from bot.clock import Clock
from bot.idempotency import Once
from bot.metrics import SlackCallCounter
from bot.permissions import Permissions
from bot.scheduler import create_scheduler
from bot.security import Vault, install_log_redaction, key_file_for, load_or_create_key
from bot.services import Services
from bot.settings import ConfigError, Settings
from bot.slack.edge import ReadPayload
from bot.slack.listeners import report_failure
from bot.startup import SlackLink, web_client
from storage import repo
from storage.db import create_engine, migrate, session_factory, warm_up

log = logging.getLogger(__name__)

SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)
VERIFIER_KEY = web.AppKey("verifier", SignatureVerifier)
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
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else "",
        # POST /slack/events checks Slack's signature before Bolt sees a byte (_slack_events),
        # and Socket Mode's requests come over the app's own connection: no second check
        request_verification_enabled=False,
        # answer as soon as a listener acks, without Bolt's 10 ms polling for the ack: the
        # listeners' work after their ack goes on in tasks of their own (bot.slack.listeners)
        process_before_response=True,
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
    web_app = web.Application()
    web_app[SERVICES_KEY] = services
    web_app[BOLT_KEY] = bolt
    web_app.router.add_get("/healthz", _healthz)
    web_app.router.add_get("/metrics", _metrics)
    secret = services.settings.slack_signing_secret
    if secret is not None:
        web_app[VERIFIER_KEY] = SignatureVerifier(secret.get_secret_value())
        web_app.router.add_post("/slack/events", _slack_events)
    web_app[LINK_KEY] = SlackLink(services.settings, bolt)
    web_app.cleanup_ctx.append(_lifecycle)
    return web_app


async def _slack_events(request: web.Request) -> web.Response:
    """Verify Slack's signature before reading anything; a signed body that isn't what Slack
    sends gets 400, never a traceback."""
    started = time.perf_counter()
    text = await request.text()
    verifier = request.app[VERIFIER_KEY]
    try:
        signed = verifier.is_valid(
            body=text,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
        )
    except (ValueError, TypeError):  # a timestamp that isn't a number
        signed = False
    if not signed:
        return web.json_response({"error": "invalid request"}, status=401)
    bolt = request.app[BOLT_KEY]
    try:
        bolt_request = AsyncBoltRequest(
            body=as_json(text, request.content_type),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
        if not _well_formed(bolt_request.body):
            raise ValueError("not the shape Slack sends")
        bolt_response = await bolt.async_dispatch(bolt_request)
    except Exception as exc:  # Bolt could not make sense of it
        log.warning("a malformed request was refused (%s)", type(exc).__name__)
        return web.json_response({"error": "malformed request"}, status=400)
    body = bolt_request.body if isinstance(bolt_request.body, dict) else {}
    kind = str(body.get("type") or ("command" if body.get("command") else "other"))
    request.app[SERVICES_KEY].metrics.ack_seconds.labels(kind=kind).observe(
        time.perf_counter() - started
    )
    return await to_aiohttp_response(bolt_response)


def as_json(body: str, content_type: str) -> str:
    """A signed request's body as JSON text, for Bolt (which reads a body that starts with `{`
    as JSON). Slack posts interactions as a form whose `payload` field is the JSON, and slash
    commands as a plain form: decoded here once, by yarl's compiled form decoder, where Bolt's
    `urllib.parse` (pure Python) took a fifth of the CPU of every answer. The same fields and
    values as `urllib.parse.parse_qsl(keep_blank_values=True)`; ValueError for a payload that
    is not a JSON object."""
    if content_type == "application/json" or body.startswith("{"):
        return body
    # a field given twice keeps its last value, as in Bolt's dict(parse_qsl(...))
    fields = dict(URL.build(query_string=body, encoded=True).query.items())
    payload = fields.get("payload")
    if payload is None:
        return json.dumps(fields)
    if not payload.startswith("{"):
        raise ValueError("the payload is not a JSON object")
    return payload


def _well_formed(body: Any) -> bool:
    """The parts Bolt's matchers index into have the shape Slack gives them."""
    if not isinstance(body, dict):
        return False
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        return isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    if kind == "event_callback":
        return isinstance(body.get("event"), dict)
    if kind in ("view_submission", "view_closed", "block_suggestion"):
        return isinstance(body.get("view", {}), dict) and isinstance(body.get("user"), dict)
    return True


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
    scheduler.shutdown(wait=False)
    await link.close()
    await services.drain(within=10)
    await client.session.close()
    await services.backend.close()
    await services.engine.dispose()
