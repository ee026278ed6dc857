"""The e-mail itself: an `email.message.EmailMessage` with text/plain and text/html, and its
headers (From, To, Reply-To, Subject, Date, Message-ID) set through the standard library's
header registry, so a CR or LF in a name, a subject or an address can't add a header."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from bot.mail.messages import MailContent

_NO_BREAKS = str.maketrans({"\r": " ", "\n": " "})


def _address(address: str, name: str = "") -> Address:
    """An Address from a validated address and a display name on one line (a CR/LF in it
    becomes a space; the registry quotes the rest)."""
    if any(ch in address for ch in "\r\n"):
        raise ValueError("an e-mail address with a line break")
    return Address(display_name=" ".join(name.translate(_NO_BREAKS).split()), addr_spec=address)


def message_id(key: str, sender: str) -> str:
    """A Message-ID stable across retries: the outbox row's key at the sender's domain."""
    domain = sender.rpartition("@")[2] or "exalate-bot.invalid"
    safe = "".join(ch if ch.isalnum() or ch in ".-_" else "." for ch in key)
    return f"<{safe}@{domain}>"


def build_message(
    content: MailContent,
    *,
    to: str,
    sender: str,
    sender_name: str = "Exalate bot",
    reply_to: str | None = None,
    reply_to_name: str = "",
    key: str,
    date: datetime,
) -> EmailMessage:
    """The message ready to send: text/plain with a text/html alternative."""
    message = EmailMessage()
    message["From"] = _address(sender, sender_name)
    message["To"] = _address(to)
    if reply_to:
        message["Reply-To"] = _address(reply_to, reply_to_name)
    message["Subject"] = content.subject.translate(_NO_BREAKS)
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id(key, sender)
    message.set_content(content.text)
    message.add_alternative(content.html, subtype="html")
    return message
