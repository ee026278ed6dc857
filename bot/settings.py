"""Configuration from the environment (and `.env`), validated once at start.

Every setting is named after its environment variable. A bad value becomes one line that
names the variable and says how to fix it (see `ConfigError`).
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.backend.base import SHORT_NAME_MAX, SHORT_NAME_RE, parse_projects
from bot.mail.config import SmtpTarget, check_address, parse_smtp_url
from bot.setting_values import (
    FIXES,
    parse_domains,
    parse_duration,
    parse_hours,
    split_ids,
)
from storage.urls import normalize_database_url

__all__ = [
    "ConfigError",
    "Settings",
    "load_settings",
    "normalize_database_url",
    "parse_duration",
    "parse_hours",
]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_bot_token: SecretStr | None = None  # single-token mode (the default)
    slack_client_id: str | None = None  # OAuth mode, with the secret: installs in many workspaces
    slack_client_secret: SecretStr | None = None
    exalate_public_url: str | None = None  # where Slack and browsers reach PORT (OAuth links)
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///exalate-bot.db"
    port: int = Field(default=3000, ge=0, le=65535)
    exalate_admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    exalate_approvers: Annotated[list[str], NoDecode] = Field(default_factory=list)
    exalate_partner_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    approval_ttl: timedelta = timedelta(days=3)
    exalate_notify_channel: str | None = None
    exalate_node_url: str | None = None
    exalate_node_token: SecretStr | None = None
    exalate_node_user: str | None = None
    exalate_node_password: SecretStr | None = None
    exalate_secret_key: SecretStr | None = None
    exalate_local_instance: str = "local"
    exalate_local_projects: str = "SUP=Support,DEV=Development,OPS=Operations"
    reminder_interval: timedelta = timedelta(hours=24)
    reminder_max: int = Field(default=5, ge=0, le=100)
    invitation_ttl: timedelta = timedelta(days=14)
    reminder_hours: tuple[time, time] | None = (time(9), time(18))
    status_poll_interval: timedelta = timedelta(seconds=60)
    sweep_interval: timedelta = timedelta(seconds=5)
    slack_timeout: timedelta = timedelta(seconds=10)
    slack_messages_per_minute: int = Field(default=240, ge=1, le=10_000)
    exalate_thread_replies: str = "all"  # or "milestones": the thread thinned, the card kept
    log_level: str = "INFO"
    log_format: str = "text"
    smtp_url: SecretStr | None = None  # e-mail for partners outside Slack (bot/mail/)
    smtp_from: str | None = None
    smtp_messages_per_minute: int = Field(default=30, ge=1, le=10_000)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None
        if not v.get_secret_value().startswith("xoxb-"):
            raise ValueError("it does not start with xoxb-")
        return v

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None or not v.get_secret_value().strip():
            return None
        if not v.get_secret_value().startswith("xapp-"):
            raise ValueError("it does not start with xapp-")
        return v

    @field_validator(
        "slack_signing_secret",
        "exalate_node_token",
        "exalate_node_password",
        "exalate_secret_key",
        "slack_client_secret",
        "smtp_url",
        mode="before",
    )
    @classmethod
    def _empty_secret(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator(
        "exalate_notify_channel",
        "exalate_node_url",
        "exalate_node_user",
        "slack_client_id",
        "exalate_public_url",
        "smtp_from",
        mode="before",
    )
    @classmethod
    def _empty_str(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("not an http(s) URL")
        return v if v.endswith("/") else v + "/"

    @field_validator("exalate_secret_key")
    @classmethod
    def _secret_key(cls, v: SecretStr | None) -> SecretStr | None:
        if v is None:
            return None
        from cryptography.fernet import Fernet

        try:
            Fernet(v.get_secret_value().encode())
        except (ValueError, TypeError):
            raise ValueError("not a Fernet key (32 url-safe base64-encoded bytes)") from None
        return v

    @field_validator("slack_client_id")
    @classmethod
    def _client_id(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"\d+\.\d+", v.strip()):
            raise ValueError("not a client ID like 1234567890.1234567890")
        return v.strip() if v else None

    @field_validator("exalate_public_url")
    @classmethod
    def _public_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("not an http(s) URL")
        return v.rstrip("/")

    @field_validator("exalate_node_url")
    @classmethod
    def _node_url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("not an http(s) URL")
        return v.rstrip("/")

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None:
            parse_smtp_url(v.get_secret_value())  # its errors never hold the URL
        return v

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, v: str | None) -> str | None:
        return None if v is None else check_address(v)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, v: str) -> str:
        return normalize_database_url(v)

    @field_validator("exalate_admins", "exalate_approvers", mode="before")
    @classmethod
    def _admins(cls, v: object) -> list[str]:
        return split_ids(v)

    @field_validator("exalate_partner_domains", mode="before")
    @classmethod
    def _domains(cls, v: object) -> list[str]:
        return parse_domains(v)

    @field_validator("exalate_local_instance")
    @classmethod
    def _instance(cls, v: str) -> str:
        if not SHORT_NAME_RE.fullmatch(v) or len(v) > SHORT_NAME_MAX:
            raise ValueError(f"not a short name of at most {SHORT_NAME_MAX} characters")
        return v

    @field_validator("exalate_local_projects")
    @classmethod
    def _projects(cls, v: str) -> str:
        parse_projects(v)
        return v

    @field_validator(
        "reminder_interval",
        "invitation_ttl",
        "status_poll_interval",
        "sweep_interval",
        "slack_timeout",
        "approval_ttl",
        mode="before",
    )
    @classmethod
    def _duration(cls, v: object) -> timedelta:
        return parse_duration(v)  # type: ignore[arg-type]

    @field_validator("reminder_hours", mode="before")
    @classmethod
    def _hours(cls, v: object) -> tuple[time, time] | None:
        if isinstance(v, tuple):
            return v  # type: ignore[return-value]
        return parse_hours(v)  # type: ignore[arg-type]

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, v: str) -> str:
        fmt = v.strip().lower() or "text"
        if fmt not in ("text", "json"):
            raise ValueError(f"unknown format {v!r}")
        return fmt

    @field_validator("exalate_thread_replies")
    @classmethod
    def _thread_replies(cls, v: str) -> str:
        replies = v.strip().lower() or "all"
        if replies not in ("all", "milestones"):
            raise ValueError(f"unknown choice {v!r}")
        return replies

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, v: str) -> str:
        level = v.strip().upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(f"unknown level {v!r}")
        return level

    @model_validator(mode="after")
    def _mode(self) -> Settings:
        if self.slack_client_id is not None and self.slack_client_secret is None:
            raise ValueError(_MISSING_CLIENT_SECRET)
        if self.slack_client_secret is not None and self.slack_client_id is None:
            raise ValueError(_MISSING_CLIENT_ID)
        if self.slack_bot_token is None and self.slack_client_id is None:
            raise ValueError(_MISSING_BOT_TOKEN)
        if self.slack_app_token is None and self.slack_signing_secret is None:
            raise ValueError(_MISSING_SIGNING_SECRET)
        if self.exalate_node_url:
            if self.exalate_node_user and not self.exalate_node_password:
                raise ValueError(_MISSING_NODE_PASSWORD)
            if not self.exalate_node_token and not self.exalate_node_user:
                raise ValueError(_MISSING_NODE_CREDENTIALS)
        if self.exalate_secret_key is None and self.sqlite_path is None:
            raise ValueError(_MISSING_SECRET_KEY)
        if self.smtp_url is not None and self.smtp_from is None:
            raise ValueError(_MISSING_SMTP_FROM)
        return self

    @property
    def smtp(self) -> SmtpTarget | None:
        """The SMTP server (SMTP_URL), or None: no e-mail, partners outside Slack get the code
        through the admin."""
        return parse_smtp_url(self.smtp_url.get_secret_value()) if self.smtp_url else None

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def oauth(self) -> bool:
        """OAuth mode: installed in each workspace through /slack/install (SLACK_CLIENT_ID and
        SLACK_CLIENT_SECRET); otherwise the one workspace of SLACK_BOT_TOKEN."""
        return self.slack_client_id is not None

    @property
    def base_url(self) -> str:
        """Where people and Slack reach the bot's PORT: EXALATE_PUBLIC_URL, else this host."""
        return self.exalate_public_url or f"http://localhost:{self.port}"

    @property
    def authorize_url(self) -> str:
        """Slack's "Add to Slack" page, on SLACK_API_URL's host (slack.com for Slack)."""
        api = self.slack_api_url
        if api == "https://slack.com/api/":
            return "https://slack.com/oauth/v2/authorize"
        return api.removesuffix("api/").rstrip("/") + "/oauth/v2/authorize"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite database file, or None for PostgreSQL / in-memory."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        path = self.database_url[len(prefix) :].split("?", 1)[0]
        return None if path in ("", ":memory:") else Path(path)


_MISSING_SIGNING_SECRET = "SLACK_SIGNING_SECRET is missing"
_MISSING_BOT_TOKEN = "SLACK_BOT_TOKEN is missing"
_MISSING_CLIENT_ID = "SLACK_CLIENT_ID is missing"
_MISSING_CLIENT_SECRET = "SLACK_CLIENT_SECRET is missing"
_MISSING_NODE_CREDENTIALS = "EXALATE_NODE_TOKEN is missing"
_MISSING_NODE_PASSWORD = "EXALATE_NODE_PASSWORD is missing"
_MISSING_SECRET_KEY = "EXALATE_SECRET_KEY is missing"
_MISSING_SMTP_FROM = "SMTP_FROM is missing"


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line to print."""


def load_settings(**overrides: object) -> Settings:
    """Load settings; raise ConfigError with one line naming the variable and the fix."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe(exc)) from None


def describe(exc: ValidationError) -> str:
    error = exc.errors(include_url=False, include_input=False)[0]
    loc = [str(part) for part in error.get("loc", ())]
    message = str(error.get("msg", "invalid"))
    if not loc:  # a model-level check
        for missing in (
            _MISSING_BOT_TOKEN,
            _MISSING_CLIENT_ID,
            _MISSING_CLIENT_SECRET,
            _MISSING_SIGNING_SECRET,
            _MISSING_NODE_CREDENTIALS,
            _MISSING_NODE_PASSWORD,
            _MISSING_SECRET_KEY,
            _MISSING_SMTP_FROM,
        ):
            if missing in message:
                return f"{missing}: {FIXES[missing.split()[0]]}."
        return message.removeprefix("Value error, ")
    var = loc[0].upper()
    fix = FIXES.get(var, "check its value")
    if error.get("type") == "missing":
        return f"{var} is missing: {fix}."
    reason = message.removeprefix("Value error, ")
    if error.get("type", "").startswith(("int_", "greater", "less")):
        reason = "not a valid number"
    return f"{var} is invalid ({reason}); {fix}."
