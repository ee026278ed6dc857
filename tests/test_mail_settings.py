"""SMTP_URL, SMTP_FROM and SMTP_MESSAGES_PER_MINUTE: read, checked, one line naming the
variable (exit 2 from the command), and the password never in a message or a repr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.mail.config import SmtpTarget, check_address, parse_smtp_url
from bot.settings import ConfigError, load_settings

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "shh"}
SECRET = "pa:ss@w/rd"  # special characters, %-encoded in the URL
URL = "smtp://mailer:pa%3Ass%40w%2Frd@mail.example.com:587?starttls=true"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith(("SLACK_", "EXALATE_", "REMINDER_", "DATABASE_", "SMTP_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _load(monkeypatch: pytest.MonkeyPatch, **env: str):
    for key, value in {**BASE, **env}.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def test_without_smtp_url_there_is_no_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _load(monkeypatch)
    assert settings.smtp is None and settings.smtp_from is None
    assert settings.smtp_messages_per_minute == 30
    assert _load(monkeypatch, SMTP_URL=" ", SMTP_FROM="").smtp is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://127.0.0.1:2525", SmtpTarget("127.0.0.1", 2525)),
        ("smtp://mail.example.com", SmtpTarget("mail.example.com", 25)),
        ("smtps://mail.example.com:465", SmtpTarget("mail.example.com", 465, "implicit")),
        ("smtps://mail.example.com", SmtpTarget("mail.example.com", 465, "implicit")),
        (URL, SmtpTarget("mail.example.com", 587, "starttls", "mailer", SECRET)),
        ("SMTP://u@h:25?starttls=false", SmtpTarget("h", 25, "none", "u")),
    ],
)
def test_smtp_urls(url: str, expected: SmtpTarget) -> None:
    assert parse_smtp_url(url) == expected


def test_settings_carry_the_target_without_showing_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = _load(
        monkeypatch, SMTP_URL=URL, SMTP_FROM="Exalate@Example.com", SMTP_MESSAGES_PER_MINUTE="12"
    )
    target = settings.smtp
    assert target is not None and target.password == SECRET and target.tls == "starttls"
    assert settings.smtp_from == "Exalate@example.com"  # the domain normalized
    assert settings.smtp_messages_per_minute == 12
    for shown in (repr(settings), repr(target), str(target)):
        assert "pa%3Ass" not in shown and SECRET not in shown and "mailer" not in str(target)
    assert str(target) == "smtp://mail.example.com:587?starttls"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"SMTP_URL": "http://mail.example.com"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://:pa%3Ass%40w%2Frd@mail.example.com"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://u:pa%3Ass%40w%2Frd@mail.example.com:99999"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://u:pa%3Ass%40w%2Frd@host/path"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://u:pa%3Ass%40w%2Frd@host?starttls=maybe"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://u:pa%3Ass%40w%2Frd@host?tls=1"}, "SMTP_URL"),
        ({"SMTP_URL": "smtps://u:pa%3Ass%40w%2Frd@host?starttls=true"}, "SMTP_URL"),
        ({"SMTP_URL": "smtp://"}, "SMTP_URL"),
        ({"SMTP_URL": URL}, "SMTP_FROM"),
        ({"SMTP_URL": URL, "SMTP_FROM": "not an address"}, "SMTP_FROM"),
        ({"SMTP_URL": URL, "SMTP_FROM": "a@b.c", "SMTP_MESSAGES_PER_MINUTE": "0"}, "SMTP_"),
        ({"SMTP_MESSAGES_PER_MINUTE": "lots"}, "SMTP_MESSAGES_PER_MINUTE"),
    ],
)
def test_bad_values_name_the_variable_and_hide_the_password(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(monkeypatch, **env)
    message = str(caught.value)
    assert message.startswith(variable), message
    assert "\n" not in message and ("use " in message or "give " in message)
    assert "pa%3Ass" not in message and SECRET not in message


def test_check_address() -> None:
    assert check_address(" pat@Globex.example ") == "pat@globex.example"
    for bad in ("pat", "pat@", "pat@globex", "a b@c.example", "pat@globex.example\r\nBcc: x@y.z"):
        with pytest.raises(ValueError):
            check_address(bad)


def test_command_exits_2_with_one_line_and_no_password(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "SMTP_"))}
    bad = "smtp://u:pa%3Ass%40w%2Frd@mail.example.com:0x19"
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        env={**clean, **BASE, "SMTP_URL": bad, "SMTP_FROM": "bot@example.com"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("exalate-bot: SMTP_URL"), result.stderr
    assert "pa%3Ass" not in result.stderr and "Traceback" not in result.stderr
