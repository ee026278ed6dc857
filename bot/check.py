"""`exalate-bot check`: the Slack token, the node and the database, one line each."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler

from bot.backend.base import BackendError
from bot.backend.node import ExalateNode
from bot.installs.oauth import install_url
from bot.settings import Settings
from bot.startup import Refused, Unavailable, ask, web_client
from storage import repo
from storage.db import create_engine, pending_migrations, session_factory


@dataclass(frozen=True)
class Check:
    part: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.part}: {'ok' if self.ok else 'FAILED'} ({self.detail})"


async def check_slack(settings: Settings) -> Check:
    """The bot token (auth.test) and, in Socket Mode, the app token (apps.connections.open),
    judged as at start-up (bot.startup): a refusal names the variable to fix."""
    client = web_client(settings, retry_handlers=[AsyncConnectionErrorRetryHandler()])
    auth: dict[str, object] = {}
    try:
        if settings.slack_bot_token is not None:
            auth = dict(
                (await ask(client.auth_test(), method="auth.test", variable="SLACK_BOT_TOKEN")).data
            )
        if settings.slack_app_token is not None:
            await ask(
                client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value()),
                method="apps.connections.open",
                variable="SLACK_APP_TOKEN",
            )
    except Refused as exc:
        return Check("slack", False, f"{exc.method} said {exc.error}: check {exc.variable}")
    except Unavailable as exc:  # unreachable, DNS, TLS, Slack's own trouble: not the token
        return Check("slack", False, f"{exc.reason} reaching {settings.slack_api_url}")
    socket = ", Socket Mode token ok" if settings.slack_app_token is not None else ""
    if settings.slack_bot_token is None:  # OAuth mode: each workspace's token is its install's
        return Check("slack", True, f"OAuth mode, installs at {install_url(settings)}{socket}")
    return Check(
        "slack", True, f"workspace {auth.get('team')}, bot user {auth.get('user')}{socket}"
    )


async def check_node(settings: Settings) -> Check:
    if not settings.exalate_node_url:
        return Check("node", True, "the embedded local node; nothing to reach")
    node = ExalateNode(
        base_url=settings.exalate_node_url,
        instance=settings.exalate_local_instance,
        token=settings.exalate_node_token,
        user=settings.exalate_node_user,
        password=settings.exalate_node_password,
    )
    try:
        connections = await node.connections()
    except BackendError as exc:
        return Check("node", False, str(exc))
    finally:
        await node.close()
    return Check("node", True, f"{settings.exalate_node_url}, {len(connections)} connections")


async def check_database(settings: Settings) -> Check:
    engine = create_engine(settings.database_url)
    try:
        behind = await pending_migrations(engine)
    except Exception as exc:  # any failure to connect is reported, not raised
        await engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:160]
        return Check("database", False, f"cannot connect: {type(exc).__name__}: {reason}")
    dialect = settings.database_url.split("+", 1)[0]
    if behind:
        await engine.dispose()
        return Check("database", False, f"{dialect}, {behind[0]}: start the bot to migrate")
    installed = ""
    if settings.oauth:
        async with session_factory(engine)() as session:
            teams = await repo.installed_team_ids(session=session)
        installed = f", installed in {len(teams)} workspace{'s' if len(teams) != 1 else ''}"
    await engine.dispose()
    return Check("database", True, f"{dialect}, migrations at head{installed}")


async def run_checks(settings: Settings) -> list[Check]:
    return [
        await check_slack(settings),
        await check_node(settings),
        await check_database(settings),
    ]
