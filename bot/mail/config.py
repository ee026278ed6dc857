"""SMTP_URL and SMTP_FROM, read: where to send e-mail and as whom. Pure; the password never
appears in an error or a repr."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from email_validator import EmailNotValidError, validate_email

SCHEMES = {"smtp": 25, "smtps": 465}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class SmtpTarget:
    """One SMTP server: `tls` is "none", "starttls" or "implicit" (smtps://)."""

    host: str
    port: int
    tls: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __str__(self) -> str:  # for logs: never the credentials
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return f"{scheme}://{self.host}:{self.port}" + (
            "?starttls" if self.tls == "starttls" else ""
        )


def parse_smtp_url(url: str) -> SmtpTarget:
    """`smtp://host:port`, `smtp://user:pass@host:587?starttls=true`, `smtps://host:465`.
    A ValueError's message never holds the URL (it may hold a password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError("not a URL with a valid port") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValueError("the scheme must be smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("the URL has no host")
    if parts.path not in ("", "/"):
        raise ValueError("the URL has a path; SMTP needs none")
    query = {k.lower(): v for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - {"starttls"}
    if unknown:
        raise ValueError(f"unknown option {sorted(unknown)[0]!r}; only starttls is known")
    starttls_value = query.get("starttls", ["false"])[-1].strip().lower()
    if starttls_value not in _TRUE | _FALSE:
        raise ValueError("starttls must be true or false")
    starttls = starttls_value in _TRUE
    if scheme == "smtps" and starttls:
        raise ValueError("smtps:// is TLS from the start; starttls=true goes with smtp://")
    if parts.password is not None and not parts.username:
        raise ValueError("a password without a user name")
    tls = "implicit" if scheme == "smtps" else "starttls" if starttls else "none"
    return SmtpTarget(
        host=parts.hostname,
        port=port or SCHEMES[scheme],
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


def check_address(address: str) -> str:
    """An e-mail address, normalized (email-validator, no DNS look-up); ValueError saying
    what is wrong with it."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None
