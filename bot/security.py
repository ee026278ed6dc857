"""Invitation codes: issued with 256 bits of randomness, stored only as a hash, and kept out of
log lines by a filter that masks codes and Slack tokens wherever they would appear."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from collections import deque
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

CODE_PREFIX = "EXA1-"
_CODE_RE = re.compile(r"EXA1-[A-Za-z0-9_-]{20,}")
_SECRET_RES = (
    _CODE_RE,
    re.compile(r"xox[abposr]-[A-Za-z0-9-]+"),
    re.compile(r"xapp-[A-Za-z0-9-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
)
MASK = "[redacted]"
_remembered: deque[str] = deque(maxlen=1000)  # codes of other shapes seen by this process


def remember_secret(secret: str) -> None:
    """Mask this exact string in logs from now on (a code pasted from a real node)."""
    if len(secret) >= 8 and secret not in _remembered:
        _remembered.append(secret)


def new_code() -> str:
    """A fresh invitation code: 32 random bytes (256 bits), URL-safe."""
    return CODE_PREFIX + secrets.token_urlsafe(32)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def mask(text: str) -> str:
    for pattern in _SECRET_RES:
        text = pattern.sub(MASK, text)
    for secret in _remembered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


_installed = False


def install_log_redaction() -> None:
    """Mask codes and tokens in every log record as it is made, whatever handler gets it.

    A record factory (rather than a handler filter) also covers handlers added later, such
    as a test's log capture; it runs only for records that pass the level check.
    """
    global _installed
    if _installed:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        _redact(record)
        return record

    logging.setLogRecordFactory(redacting_factory)
    _installed = True


def _redact(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a malformed record: leave it to the handler to report
        return
    masked = mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
        record.exc_text = mask(logging.Formatter().formatException(record.exc_info))


class RedactingFilter(logging.Filter):
    """The same masking as a handler filter, for handlers set up before the factory."""

    def filter(self, record: logging.LogRecord) -> bool:
        _redact(record)
        return True


class Vault:
    """Seals secrets (invitation codes, messages that carry one) with Fernet before they are
    stored: AES-128-CBC with an HMAC-SHA256, so a copy of the database alone reveals nothing."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SealBroken("a sealed value can't be opened with this key") from None


class SealBroken(Exception):
    """A sealed value was made with another key (or altered)."""


def key_file_for(database: Path) -> Path:
    """The embedded default: `exalate-bot.key` beside `exalate-bot.db`."""
    return database.with_suffix(".key")


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it with mode 0600 (owner only) on first start."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    key = Fernet.generate_key()
    with os.fdopen(descriptor, "wb") as file:
        file.write(key + b"\n")
    return key
