"""Sending one e-mail over SMTP with aiosmtplib, the server's answer read as: sent, a
temporary failure (no connection, a timeout, a 4xx: try again later) or a permanent refusal
(a 5xx, with the server's reason). No error ever holds the password."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from bot.mail.config import SmtpTarget


class MailNotSent(Exception):
    """The server didn't take the message; `reason` is safe to show (no credentials)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MailUnavailable(MailNotSent):
    """Worth another try later: no connection, a timeout, a 4xx reply."""


class MailRefused(MailNotSent):
    """A permanent refusal (a 5xx reply): another try would get the same."""


class Sender(Protocol):
    async def send(self, message: EmailMessage) -> None: ...


def _reply(code: int, text: str) -> MailNotSent:
    reason = f"{code} {' '.join(text.split())}".strip()[:200]
    return MailRefused(reason) if 500 <= code < 600 else MailUnavailable(reason)


class SmtpSender:
    """One SMTP connection per message (e-mail is rare here: a few a minute at most)."""

    def __init__(
        self,
        target: SmtpTarget,
        *,
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.target, self.timeout, self.tls_context = target, timeout, tls_context

    async def send(self, message: EmailMessage) -> None:
        target = self.target
        try:
            await aiosmtplib.send(
                message,
                hostname=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                use_tls=target.tls == "implicit",
                start_tls=target.tls == "starttls",
                timeout=self.timeout,
                tls_context=self.tls_context,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            raise (
                _reply(first.code, first.message) if first else MailRefused("recipient refused")
            ) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise _reply(exc.code, exc.message) from None
        except aiosmtplib.SMTPTimeoutError:
            raise MailUnavailable("the mail server did not answer in time") from None
        except (aiosmtplib.SMTPException, OSError) as exc:  # no connection, TLS, disconnected
            raise MailUnavailable(
                f"no connection to the mail server ({type(exc).__name__})"
            ) from None
