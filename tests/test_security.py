"""Secrets and forged requests: signatures, sealed codes on disk, masked logs, escaped text."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FakeClock
from bot.devtools.slack_requests import command_payload, sign
from bot.security import install_log_redaction, mask, new_code
from storage.models import Connection, Invitation, Outbox, WizardDraft
from tests.harness import (
    WIZARD,
    World,
    at,
    db_rows,
    eventually,
    make_settings,
    start_bot,
)
from tests.slack_emulator import SlackEmulator

log = logging.getLogger("tests.security")


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"exalate_notify_channel": "CNOTICE"}


def _command_body(slack: SlackEmulator) -> str:
    from urllib.parse import urlencode

    payload = command_payload(
        text="connect",
        user_id="UADMIN",
        trigger_id=slack.issue_trigger_id(),
        response_url=slack.response_url(),
    )
    return urlencode(payload)


@pytest.mark.parametrize(
    "forgery",
    [
        "no signature",
        "wrong signature",
        "signed with another secret",
        "five minutes old",
        "from the future",
        "body changed after signing",
    ],
)
async def test_forged_requests_get_401_and_change_nothing(
    world: World, slack: SlackEmulator, forgery: str
) -> None:
    body = _command_body(slack)
    now = int(time.time())
    timestamp, signature, sent = now, sign("test-signing-secret", now, body), body
    headers = {}
    if forgery == "no signature":
        headers = {"X-Slack-Signature": ""}
    elif forgery == "wrong signature":
        signature = "v0=" + "0" * 64
    elif forgery == "signed with another secret":
        signature = sign("not-the-secret", now, body)
    elif forgery == "five minutes old":
        timestamp = now - 301
        signature = sign("test-signing-secret", timestamp, body)
    elif forgery == "from the future":
        timestamp = now + 301
        signature = sign("test-signing-secret", timestamp, body)
    else:
        sent = body.replace("connect", "cancel+x")
    response = await world.sender.post(
        sent,
        "application/x-www-form-urlencoded",
        timestamp=timestamp,
        signature=signature,
        headers=headers,
    )
    assert response.status == 401
    assert slack.calls_to("views.open") == [] and slack.calls_to("users.info") == []
    assert await db_rows(world.bot, WizardDraft) == []
    genuine = await world.sender.post(body, "application/x-www-form-urlencoded")
    assert genuine.status == 200  # the control: the same body, signed right


async def test_codes_are_sealed_at_rest_and_absent_from_logs(
    world: World, slack: SlackEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = await world.initiate()
    await world.sweep(at(3, 14))
    await world.sender.command("resend acme_to_partnerco", user_id="UADMIN")
    dm = await eventually(
        lambda: [
            m
            for m in world.dms("UPARTNER")
            if first not in json.dumps(m) and "EXA1-" in json.dumps(m)
        ]
    )
    text = json.dumps(dm[-1])
    second = text[text.index("EXA1-") : text.index("EXA1-") + 48]
    await world.sweep()

    [invitation, renewed] = await db_rows(world.bot, Invitation)
    assert invitation.code_sealed and world.bot.services.vault.open(invitation.code_sealed) == first
    assert renewed.code_sealed and first not in renewed.code_sealed
    await world.bot.stop()  # flush everything to the files
    files = [p for p in tmp_path.iterdir() if p.name.startswith("bot.db")]
    assert files, "the SQLite files"
    for path in files:
        raw = path.read_bytes()
        for code in (first, second):
            assert code.encode() not in raw, f"{code[:8]}… in {path.name}"
            assert code[5:30].encode() not in raw
    for code in (first, second):
        assert code not in caplog.text
    assert "[redacted]" in caplog.text  # the SDK's debug lines were there, masked
    assert slack.bot_token not in caplog.text


async def test_the_key_file_is_private_and_survives_a_restart(
    slack: SlackEmulator, tmp_path: Path, clock: FakeClock
) -> None:
    settings = make_settings(slack, f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    bot = await start_bot(slack, settings, clock=clock)
    world = World(bot, slack, clock)
    code = await world.initiate()
    await bot.stop()
    key_file = tmp_path / "bot.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    again = await start_bot(slack, settings, clock=clock)
    try:
        [invitation] = await db_rows(again, Invitation)
        assert again.services.vault.open(invitation.code_sealed or "") == code
    finally:
        await again.stop()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("setup", "says"),
    [
        ("garbage key file", "holds no Fernet key"),
        ("bad EXALATE_SECRET_KEY", "EXALATE_SECRET_KEY is invalid"),
        ("PostgreSQL without a key", "EXALATE_SECRET_KEY is missing"),
    ],
)
def test_key_problems_stop_the_bot_with_one_line(tmp_path: Path, setup: str, says: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "EXALATE_"))}
    env |= {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "PORT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
    }
    if setup == "garbage key file":
        (tmp_path / "bot.key").write_text("not a key\n")
    elif setup == "bad EXALATE_SECRET_KEY":
        env["EXALATE_SECRET_KEY"] = "too-short"
    else:
        env["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:5432/test"
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert says in line and "Traceback" not in result.stderr


def test_the_log_masks_tokens_codes_and_jwts(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    code = new_code()
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    secrets = ["xoxb-1234-5678-abcdEFGH", "xapp-1-A0-123-abc", jwt, code]
    with caplog.at_level(logging.INFO, logger="tests.security"):
        log.info("sending %s and %s", secrets[0], {"code": code})
        log.warning("node said %s / %s", jwt, secrets[1])
        try:
            raise RuntimeError(f"failed with token {secrets[0]} and code {code}")
        except RuntimeError:
            log.exception("boom")
    text = caplog.text + "".join(r.exc_text or "" for r in caplog.records)
    for secret in secrets:
        assert secret not in text
    assert text.count("[redacted]") >= 6
    assert mask("nothing secret here") == "nothing secret here"


async def test_user_text_never_pings_or_breaks_a_message(
    world: World, slack: SlackEmulator
) -> None:
    hostile = "<!channel> <!here> <@UOTHER> <#C0GENERAL> *bold* ```fence``` & <https://x|y>"
    pages = list(WIZARD)
    pages[2] = {"remote_short_name": "partnerco", "description": hostile}
    pages[4] = {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE", "note": hostile}
    await world.initiate(*pages)
    review_and_dm = json.dumps([slack.views, slack.messages], ensure_ascii=False)
    for ping in ("<!channel>", "<!here>", "<@UOTHER>", "<#C0GENERAL>", "<https://x|y>"):
        assert ping not in review_and_dm, ping
    assert "&lt;!channel&gt;" in review_and_dm
    [connection] = await db_rows(world.bot, Connection)
    assert connection.description == hostile  # stored as given, escaped when shown
    assert all(o.sealed is None for o in await db_rows(world.bot, Outbox))  # sent: unsealed
