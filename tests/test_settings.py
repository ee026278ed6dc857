"""Configuration: defaults, parsing, and one-line errors with exit code 2 from the command."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings, parse_duration, parse_hours

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "shh"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "EXALATE_", "REMINDER_", "DATABASE_", "INVITATION_")):
            monkeypatch.delenv(name)
    for name in ("PORT", "STATUS_POLL_INTERVAL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _load(monkeypatch: pytest.MonkeyPatch, **env: str):
    for key, value in {**BASE, **env}.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.database_url == "sqlite+aiosqlite:///exalate-bot.db"
    assert settings.port == 3000
    assert settings.exalate_admins == []
    assert settings.reminder_interval == timedelta(hours=24)
    assert settings.reminder_max == 5
    assert settings.invitation_ttl == timedelta(days=14)
    assert settings.reminder_hours == (time(9), time(18))
    assert settings.status_poll_interval == timedelta(seconds=60)
    assert not settings.socket_mode
    assert "xoxb" not in repr(settings)


def test_values_from_env_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("REMINDER_INTERVAL=90m\nEXALATE_ADMINS=U1, S2 ,W3\n")
    settings = _load(
        monkeypatch,
        DATABASE_URL="postgresql://bot:pw@db:5432/exalate",
        EXALATE_SECRET_KEY="Qmw6Q2l3UzN0b0p3c1dGbGVfR0o0Z1B5bWQ5T3F0b0E=",
        REMINDER_HOURS="",
        INVITATION_TTL="3d",
        SLACK_APP_TOKEN="xapp-1-abc",
        SLACK_API_URL="http://127.0.0.1:9/api",
    )
    assert settings.reminder_interval == timedelta(minutes=90)
    assert settings.exalate_admins == ["U1", "S2", "W3"]
    assert settings.database_url == "postgresql+asyncpg://bot:pw@db:5432/exalate"
    assert settings.reminder_hours is None
    assert settings.invitation_ttl == timedelta(days=3)
    assert settings.socket_mode
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"


def test_node_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    with_token = _load(
        monkeypatch, EXALATE_NODE_URL="https://node.example.com/", EXALATE_NODE_TOKEN="jwt"
    )
    assert with_token.exalate_node_url == "https://node.example.com"
    assert "jwt" not in repr(with_token)
    monkeypatch.delenv("EXALATE_NODE_TOKEN")
    login = _load(monkeypatch, EXALATE_NODE_USER="bot", EXALATE_NODE_PASSWORD="pw")
    assert login.exalate_node_user == "bot"
    assert login.exalate_node_password is not None
    assert login.exalate_node_password.get_secret_value() == "pw"


def test_socket_mode_needs_no_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    assert load_settings().slack_signing_secret is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("24h", timedelta(hours=24)),
        ("14d", timedelta(days=14)),
        ("45", timedelta(seconds=45)),
        (" 2h ", timedelta(hours=2)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3x", "h", "-5m", "0s", "0", "000", "0d", "1.5h", "1h30m"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_parse_hours() -> None:
    assert parse_hours("09:00-18:00") == (time(9), time(18))
    assert parse_hours("8:30 - 17:15") == (time(8, 30), time(17, 15))
    assert parse_hours("") is None
    for bad in ("18:00-09:00", "9-17", "25:00-26:00", "09:00-09:00"):
        with pytest.raises(ValueError):
            parse_hours(bad)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:/relative.db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"REMINDER_INTERVAL": "daily"}, "REMINDER_INTERVAL"),
        ({"INVITATION_TTL": "0d"}, "INVITATION_TTL"),
        ({"STATUS_POLL_INTERVAL": "1w"}, "STATUS_POLL_INTERVAL"),
        ({"REMINDER_MAX": "many"}, "REMINDER_MAX"),
        ({"REMINDER_HOURS": "9 to 5"}, "REMINDER_HOURS"),
        ({"PORT": "http"}, "PORT"),
        ({"EXALATE_THREAD_REPLIES": "some"}, "EXALATE_THREAD_REPLIES"),
        ({"EXALATE_ADMINS": "alice,bob"}, "EXALATE_ADMINS"),
        ({"SLACK_API_URL": "slack.com"}, "SLACK_API_URL"),
        ({"EXALATE_LOCAL_PROJECTS": " , "}, "EXALATE_LOCAL_PROJECTS"),
        ({"EXALATE_NODE_URL": "node.example.com", "EXALATE_NODE_TOKEN": "t"}, "EXALATE_NODE_URL"),
        ({"EXALATE_NODE_URL": "https://node.example.com"}, "EXALATE_NODE_TOKEN"),
        (
            {"EXALATE_NODE_URL": "https://node.example.com", "EXALATE_NODE_USER": "bot"},
            "EXALATE_NODE_PASSWORD",
        ),
    ],
)
def test_bad_values_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, **env)
    message = str(caught.value)
    assert message.startswith(variable), message
    assert "\n" not in message
    assert "shh" not in message and "xoxp-user-token" not in message


def _run_cli(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({**BASE, "DATABASE_URL": "postgres//nope"}, "DATABASE_URL"),
        ({**BASE, "REMINDER_INTERVAL": "1 fortnight"}, "REMINDER_INTERVAL"),
        (
            {
                **BASE,
                "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x",
                "EXALATE_SECRET_KEY": "Qmw6Q2l3UzN0b0p3c1dGbGVfR0o0Z1B5bWQ5T3F0b0E=",
            },
            "DATABASE_URL",
        ),
        ({**BASE, "DATABASE_URL": "postgresql://postgres@127.0.0.1/x"}, "EXALATE_SECRET_KEY"),
    ],
)
def test_command_exits_2_with_one_line(tmp_path: Path, env: dict[str, str], variable: str) -> None:
    result = _run_cli(tmp_path, env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"exalate-bot: {variable}")
    assert "Traceback" not in result.stderr


def test_command_rejects_unknown_arguments(tmp_path: Path) -> None:
    result = _run_cli(tmp_path, BASE, "--frobnicate")
    assert result.returncode == 2 and "--help" in result.stderr


# --- OAuth mode ------------------------------------------------------------------------------

OAUTH = {
    "SLACK_CLIENT_ID": "1234567890.987654321",
    "SLACK_CLIENT_SECRET": "client-shh",
    "SLACK_SIGNING_SECRET": "shh",
}


def test_oauth_mode_needs_no_bot_token(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in OAUTH.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    assert settings.oauth and settings.slack_bot_token is None
    assert settings.base_url == "http://localhost:3000"
    assert settings.authorize_url == "https://slack.com/oauth/v2/authorize"
    assert "client-shh" not in repr(settings)
    emulated = load_settings(slack_api_url="http://127.0.0.1:9/api/")
    assert emulated.authorize_url == "http://127.0.0.1:9/oauth/v2/authorize"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SLACK_CLIENT_ID": "1234.5678", "SLACK_SIGNING_SECRET": "shh"}, "SLACK_CLIENT_SECRET"),
        ({"SLACK_CLIENT_SECRET": "x", "SLACK_SIGNING_SECRET": "shh"}, "SLACK_CLIENT_ID"),
        ({**OAUTH, "SLACK_CLIENT_ID": "my-app"}, "SLACK_CLIENT_ID"),
        ({**OAUTH, "EXALATE_PUBLIC_URL": "bot.example.com"}, "EXALATE_PUBLIC_URL"),
        ({"SLACK_SIGNING_SECRET": "shh"}, "SLACK_BOT_TOKEN"),
    ],
)
def test_oauth_settings_exit_2_with_one_line(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    result = _run_cli(tmp_path, env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"exalate-bot: {variable}"), result.stderr
    assert "client-shh" not in result.stderr and "Traceback" not in result.stderr
    if variable == "SLACK_BOT_TOKEN":  # says the other way too
        assert "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET" in lines[0]


def test_install_url_prints_the_link(tmp_path: Path) -> None:
    public = {**OAUTH, "EXALATE_PUBLIC_URL": "https://exalate-bot.example.com/"}
    result = _run_cli(tmp_path, public, "install-url")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "https://exalate-bot.example.com/slack/install\n"
    assert result.stderr == ""
    local = _run_cli(tmp_path, {**OAUTH, "PORT": "8080"}, "install-url")
    assert local.returncode == 0 and local.stdout == "http://localhost:8080/slack/install\n"
    assert "EXALATE_PUBLIC_URL" in local.stderr  # this machine only, and how to fix it
    single = _run_cli(tmp_path, BASE, "install-url")
    assert single.returncode == 2 and single.stdout == ""
    assert single.stderr.count("\n") == 1 and "SLACK_CLIENT_ID" in single.stderr
