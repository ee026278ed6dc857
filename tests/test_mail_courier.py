"""The mail courier over the outbox, against a real SMTP server (aiosmtpd, started here):
delivered once, retried while the server is away, a 550 ends it and the admin is told in
Slack, STARTTLS with a certificate the test makes, the e-mail sealed at rest, the code in no
log line, and the Slack courier's claim never takes an e-mail row."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import FakeClock
from bot.delivery.rows import enqueue
from bot.mail.config import SmtpTarget
from bot.mail.courier import MailCourier, mail_row
from bot.mail.messages import invitation_mail
from bot.mail.sender import SmtpSender
from bot.security import Vault
from storage import repo
from storage.db import session_factory, transaction
from storage.models import AuditEvent, Connection, Outbox
from tests.conftest import LogWatch
from tests.mail_server import Inbox, MailServer, free_port, self_signed

CODE = "EXA1-mail-code-0123456789"
PARTNER = "pat@globex.example"


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def server(inbox: Inbox) -> Iterator[MailServer]:
    running = MailServer(inbox).start()
    yield running
    running.stop()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def vault() -> Vault:
    return Vault(Fernet.generate_key())


async def _connection(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, name: str = "acme-to-globex"
) -> int:
    async with transaction(sessions) as session:
        connection = Connection(
            team_id="TADMIN",
            name=name,
            name_key=name,
            destination="private",
            mode="script",
            local_short_name="acme",
            remote_short_name="globex",
            project_key="SUP",
            project_name="Support",
            backend="local",
            initiator_user_id="UADMIN",
            partner_user_id="",
            partner_team_id="",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(connection)
        await session.flush()
        assert connection.id is not None
        return connection.id


async def _mail(
    sessions: async_sessionmaker[AsyncSession],
    vault: Vault,
    clock: FakeClock,
    *,
    to: str = PARTNER,
    key: str = "invitation_mail:1",
) -> int:
    connection_id = await _connection(sessions, clock, name=key.replace(":", "-"))
    content = invitation_mail(
        inviter="Ada (Acme)",
        connection_name="acme-to-globex",
        local_short_name="acme",
        remote_short_name="globex",
        code=CODE,
        expires_at=clock.now() + timedelta(days=14),
        zone=None,
    )
    async with transaction(sessions) as session:
        row = await enqueue(
            session,
            mail_row(
                team_id="TADMIN",
                key=key,
                purpose="invitation_mail",
                to=to,
                content=content,
                vault=vault,
                now=clock.now(),
                connection_id=connection_id,
                reply_to="ada@acme.example",
                reply_to_name="Ada (Acme)",
            ),
        )
    assert row is not None and row.id is not None
    return row.id


def _courier(sessions, vault, clock, sender: SmtpSender, per_minute: int = 30) -> MailCourier:
    return MailCourier(
        sessions=sessions,
        vault=vault,
        clock=clock,
        sender=sender,
        sender_address="bot@acme.example",
        per_minute=per_minute,
    )


async def _rows(sessions: async_sessionmaker[AsyncSession], table: type) -> list:
    async with sessions() as session:
        return list((await session.exec(select(table))).all())


async def test_an_invitation_is_mailed_once_sealed_at_rest(
    sessions,
    vault: Vault,
    clock: FakeClock,
    server: MailServer,
    inbox: Inbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    row_id = await _mail(sessions, vault, clock)
    [stored] = await _rows(sessions, Outbox)
    assert CODE not in f"{stored.text}{stored.blocks}{stored.sealed}"  # sealed at rest
    assert stored.email_to == PARTNER

    async with transaction(sessions) as session:  # the Slack courier's claim: not this one
        slack = await repo.claim_due_messages(
            session=session,
            now=clock.now(),
            limit=10,
            candidates=10,
            per_channel=10,
            lease=timedelta(minutes=2),
        )
    assert slack == []

    courier = _courier(sessions, vault, clock, SmtpSender(SmtpTarget("127.0.0.1", server.port)))
    [delivery] = await courier.run()
    assert delivery.ok and delivery.id == row_id
    [mail] = inbox.wait_for(1)
    assert inbox.envelopes == [("bot@acme.example", [PARTNER])]
    assert mail["To"] == PARTNER and mail["Reply-To"] == '"Ada (Acme)" <ada@acme.example>'
    assert mail["Message-ID"] == "<invitation_mail.1@acme.example>"
    plain = mail.get_body(preferencelist=("plain",))
    assert plain is not None and CODE in plain.get_content()

    clock.advance(timedelta(minutes=10))  # the lease long over: nothing is sent again
    assert await courier.run() == []
    assert len(inbox.messages) == 1
    [sent] = await _rows(sessions, Outbox)
    assert sent.sent_at is not None and sent.sealed is None  # the code dropped once sent
    assert caplog.records and not any(CODE in r.getMessage() for r in caplog.records)


async def test_server_down_then_back_delivered_exactly_once(
    sessions, vault: Vault, clock: FakeClock, inbox: Inbox, log_watch: LogWatch
) -> None:
    port = free_port()
    await _mail(sessions, vault, clock)
    courier = _courier(sessions, vault, clock, SmtpSender(SmtpTarget("127.0.0.1", port)))
    [first] = await courier.run()
    assert not first.ok and first.retrying and "no connection" in (first.error or "")
    assert await courier.run() == []  # backing off: not due yet
    server = MailServer(inbox, port=port).start()
    try:
        clock.advance(timedelta(minutes=1))
        [second] = await courier.run()
        assert second.ok
        clock.advance(timedelta(hours=2))
        assert await courier.run() == []
        assert len(inbox.wait_for(1)) == 1
    finally:
        server.stop()
    assert any("will retry" in line for line in [r.text for r in log_watch.seen])
    assert not any(CODE in line for line in [r.text for r in log_watch.seen])


async def test_a_4xx_is_retried_and_a_550_tells_the_admin(
    sessions, vault: Vault, clock: FakeClock, server: MailServer, inbox: Inbox
) -> None:
    inbox.refuse[PARTNER] = "451 4.3.0 Try again later"
    await _mail(sessions, vault, clock)
    courier = _courier(sessions, vault, clock, SmtpSender(SmtpTarget("127.0.0.1", server.port)))
    [busy] = await courier.run()
    assert not busy.ok and busy.retrying and busy.error == "451 4.3.0 Try again later"

    inbox.refuse[PARTNER] = "550 5.1.1 No such user here"
    clock.advance(timedelta(minutes=5))
    [refused] = await courier.run()
    assert not refused.ok and not refused.retrying
    clock.advance(timedelta(hours=5))
    assert await courier.run() == [] and inbox.messages == []

    rows = await _rows(sessions, Outbox)
    mail, told = sorted(rows, key=lambda r: r.id)
    assert mail.failed_at is not None and mail.last_error == "550 5.1.1 No such user here"
    assert told.email_to is None and told.channel == "UADMIN" and told.team_id == "TADMIN"
    assert PARTNER in told.text and "550 5.1.1 No such user here" in told.text
    assert CODE not in told.text
    audits = await _rows(sessions, AuditEvent)
    assert [a.action for a in audits] == ["invitation_mail_failed"]


async def test_starttls_with_a_certificate_the_test_trusts(
    sessions, vault: Vault, clock: FakeClock, inbox: Inbox, tmp_path: Path
) -> None:
    server_tls, client_tls = self_signed(tmp_path)
    server = MailServer(
        inbox,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=inbox.authenticate,
        auth_required=True,
    ).start()
    try:
        await _mail(sessions, vault, clock)
        target = SmtpTarget("127.0.0.1", server.port, "starttls", "mailer", "pa:ss@w/rd")
        untrusted = _courier(sessions, vault, clock, SmtpSender(target))
        [refused] = await untrusted.run()  # the system's trust store doesn't know the cert
        assert not refused.ok and refused.retrying
        assert inbox.logins == []  # no password sent before TLS
        clock.advance(timedelta(minutes=5))
        trusted = _courier(sessions, vault, clock, SmtpSender(target, tls_context=client_tls))
        [sent] = await trusted.run()
        assert sent.ok, sent.error
        assert len(inbox.wait_for(1)) == 1 and inbox.logins == [("mailer", "pa:ss@w/rd")]
    finally:
        server.stop()


async def test_the_budget_is_its_own(
    sessions, vault: Vault, clock: FakeClock, server: MailServer, inbox: Inbox
) -> None:
    for n in range(3):
        await _mail(sessions, vault, clock, key=f"invitation_mail:{n}", to=f"p{n}@globex.example")
    courier = _courier(
        sessions, vault, clock, SmtpSender(SmtpTarget("127.0.0.1", server.port)), per_minute=2
    )
    assert len(await courier.run()) == 2
    assert await courier.run() == []  # the minute's budget is spent
    clock.advance(timedelta(seconds=61))
    assert len(await courier.run()) == 1
    assert len(inbox.wait_for(3)) == 3
