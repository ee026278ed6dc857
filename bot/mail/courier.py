"""The mail courier: claims the outbox's e-mail rows (only those: `email_to` set; the Slack
courier never takes them) and sends each over SMTP, at a budget of its own
(SMTP_MESSAGES_PER_MINUTE, counted on the clock, apart from Slack's pacer).

A temporary failure (no connection, a timeout, a 4xx) leaves the row due again after a
back-off, so it is delivered once the server is back; a permanent refusal (a 5xx) ends it, and
the admin who sent the invitation is told in Slack with the server's reason (a DM row, sent by
the Slack courier). The row's e-mail is sealed until sent, as a Slack DM with a code is."""

from __future__ import annotations

import json
import logging
from collections import deque
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.delivery.outcomes import Delivery
from bot.delivery.rows import enqueue, outbox_row
from bot.mail.envelope import build_message
from bot.mail.messages import MailContent
from bot.mail.sender import MailNotSent, MailRefused, Sender
from bot.security import SealBroken, Vault
from bot.slack.blocks import section
from bot.slack.text import escape
from storage import repo
from storage.db import transaction
from storage.models import Outbox

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 12
BATCH = 20
MINUTE = timedelta(minutes=1)


def mail_row(
    *,
    team_id: str,
    key: str,
    purpose: str,
    to: str,
    content: MailContent,
    vault: Vault,
    now: datetime,
    connection_id: int | None = None,
    invitation_id: int | None = None,
    reply_to: str | None = None,
    reply_to_name: str = "",
) -> dict[str, Any]:
    """An outbox row's values for an e-mail to `to`: the e-mail sealed (it may hold the code),
    `team_id` the admin's workspace (where a refusal is told)."""
    message = {
        "text": f"(e-mail) {content.subject}",
        "mail": content.as_dict(),
        "reply_to": reply_to,
        "reply_to_name": reply_to_name,
    }
    values = outbox_row(
        team_id=team_id,
        key=key,
        purpose=purpose,
        channel=f"email:{invitation_id or connection_id or 0}",
        message=message,
        now=now,
        connection_id=connection_id,
        invitation_id=invitation_id,
        seal_with=vault,
    )
    return {**values, "email_to": to}


def refused_message(to: str, subject: str, reason: str) -> dict[str, Any]:
    """The admin's DM when the mail server refuses an e-mail for good."""
    text = (
        f":warning: The e-mail to {escape(to)} "
        f"(“{escape(subject)}”) was not delivered: {escape(reason)}. It will not be tried "
        "again; check the address, then use Resend (fresh code) or pass the code on yourself."
    )
    return {"text": text, "blocks": [section(text)]}


class MailCourier:
    """Claims due e-mail rows and sends them with `sender`, as `sender_address`."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        vault: Vault,
        clock: Clock,
        sender: Sender,
        sender_address: str,
        per_minute: int,
    ) -> None:
        self.sessions, self.vault, self.clock = sessions, vault, clock
        self.sender, self.sender_address, self.per_minute = sender, sender_address, per_minute
        self._sent_at: deque[datetime] = deque()  # this process's sends in the last minute

    def room(self) -> int:
        """How many more e-mails this minute's budget lets out."""
        now = self.clock.now()
        while self._sent_at and self._sent_at[0] <= now - MINUTE:
            self._sent_at.popleft()
        return max(0, self.per_minute - len(self._sent_at))

    async def run(self, *, ids: list[int] | None = None, limit: int = BATCH) -> list[Delivery]:
        """Claim what is due (only `ids`, when given), within the minute's budget, and send it
        one after another. Returns what was tried."""
        if (room := min(limit, self.room())) <= 0:
            return []
        async with transaction(self.sessions) as session:
            claimed = await repo.claim_due_messages(
                session=session,
                now=self.clock.now(),
                limit=room,
                candidates=room * 4,
                per_channel=room,
                lease=LEASE,
                ids=ids,
                email=True,
            )
        deliveries = []
        for row in claimed:
            self._sent_at.append(self.clock.now())  # a try spends the budget, sent or not
            deliveries.append(await self._send(row))
        return deliveries

    async def _send(self, row: Outbox) -> Delivery:
        assert row.id is not None and row.email_to
        try:
            message = json.loads(self.vault.open(row.sealed)) if row.sealed else {}
            content = MailContent.from_dict(message["mail"])
        except (SealBroken, KeyError, ValueError):
            return await self._failed(row, "sealed with another key", None)
        email = build_message(
            content,
            to=row.email_to,
            sender=self.sender_address,
            reply_to=message.get("reply_to"),
            reply_to_name=message.get("reply_to_name") or "",
            key=row.key,
            date=self.clock.now(),
        )
        try:
            await self.sender.send(email)
        except MailNotSent as exc:
            refused = content.subject if isinstance(exc, MailRefused) else None
            return await self._failed(row, exc.reason, refused)
        async with transaction(self.sessions) as session:
            await repo.mark_sent(
                session=session, sent=[(row.id, row.attempts, "email", "")], now=self.clock.now()
            )
        log.info("outbox #%s (%s) e-mailed", row.id, row.purpose)
        return Delivery(row.id, row.purpose, ok=True, channel="email")

    async def _failed(self, row: Outbox, error: str, refused: str | None) -> Delivery:
        """`refused`: the subject of an e-mail the server refused for good (the admin is
        told); None with a temporary failure (retried after a back-off) or a broken seal."""
        now = self.clock.now()
        retrying = refused is None and error != "sealed with another key"
        retrying = retrying and row.attempts < MAX_ATTEMPTS
        retry_at, told = None, None
        if retrying:
            retry_at = now + timedelta(seconds=min(2 ** max(row.attempts - 1, 0) * 30, 3600))
        async with transaction(self.sessions) as session:
            await repo.fail_message(
                session=session, row=row, error=error, now=now, retry_at=retry_at
            )
            if not retrying:
                told = await self._tell_admin(session, row, error, refused or "an e-mail", now)
        log.warning(
            "outbox #%s (%s) e-mail failed: %s%s",
            row.id,
            row.purpose,
            error,
            " (will retry)" if retrying else "",
        )
        return Delivery(
            row.id or 0,
            row.purpose,
            ok=False,
            error=error,
            retrying=retrying,
            follow_up=told.id if told is not None else None,
        )

    async def _tell_admin(
        self, session: AsyncSession, row: Outbox, error: str, subject: str, now: datetime
    ) -> Outbox | None:
        """The admin's DM saying why (a Slack row: the Slack courier sends it)."""
        if row.connection_id is None:
            return None
        connection = await repo.find_connection(session=session, connection_id=row.connection_id)
        if connection is None:
            return None
        return await enqueue(
            session,
            outbox_row(
                team_id=row.team_id,
                key=f"mail_failed:{row.id}",
                purpose="mail_failed",
                channel=connection.initiator_user_id,
                message=refused_message(row.email_to or "", subject, error),
                now=now,
                connection_id=connection.id,
                invitation_id=row.invitation_id,
            ),
        )
