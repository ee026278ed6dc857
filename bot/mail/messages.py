"""The partner's e-mails, built pure: the invitation, a reminder, a fresh code (resend) and the
withdrawn note (cancel). Each is a `MailContent` (subject, text/plain, text/html), plain data
that an outbox row carries sealed until the mail courier sends it (envelope.py makes the
message with its headers). Every value from people (names, the note) is escaped in the HTML;
a header never takes it raw (envelope.py)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

HOW_TO_ACCEPT = (
    "Open the Exalate console on your instance and go to Connections.",
    "Click Accept invitation and paste the code above.",
    "Choose the project for incoming sync on your side.",
    "Click Confirm: the connection turns Active on both sides.",
)
EMBEDDED_NODE = (
    "This invitation comes from the bot's embedded node, a stand-in for an Exalate node used "
    "for trials and demonstrations. It can issue and check this code, but it is not a real "
    "Exalate node: your Exalate console can't accept its code, and nothing syncs. To accept, "
    "join a Slack workspace where the Exalate bot is installed and type /exalate accept."
)
BOTS_RULE = "the reminders and the expiry are the bot's rule, not Exalate's"


@dataclass(frozen=True)
class MailContent:
    subject: str
    text: str
    html: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MailContent:
        return cls(subject=str(data["subject"]), text=str(data["text"]), html=str(data["html"]))


def when(moment: datetime, zone: str | None) -> str:
    """A date in the partner's zone (UTC when unknown), with the zone named."""
    try:
        tz = ZoneInfo(zone) if zone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    local = moment.astimezone(tz)
    return f"{local:%A %d %B %Y at %H:%M} ({tz.key})"


def _one_line(value: str) -> str:
    """A name or subject on one line: control characters (CR, LF among them) become spaces."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())


def _html(paragraphs: list[str], code: str | None = None) -> str:
    body = "".join(paragraphs)
    if code is not None:
        body = body.replace("{{CODE}}", f'<pre style="font-size:14px">{escape(code)}</pre>')
    return f'<!DOCTYPE html><html><body style="font-family:sans-serif">{body}</body></html>'


def _p(text: str) -> str:
    return "<p>" + escape(text).replace("\n", "<br>") + "</p>"


def _steps_text() -> str:
    return "\n".join(f"{n}. {step}" for n, step in enumerate(HOW_TO_ACCEPT, 1))


def _steps_html() -> str:
    return "<ol>" + "".join(f"<li>{escape(step)}</li>" for step in HOW_TO_ACCEPT) + "</ol>"


def invitation_mail(
    *,
    inviter: str,
    connection_name: str,
    local_short_name: str,
    remote_short_name: str,
    code: str,
    expires_at: datetime,
    zone: str | None,
    note: str = "",
    embedded: bool = False,
    fresh: bool = False,
) -> MailContent:
    """The invitation: who invites and for which connection, the code, how to accept in the
    partner's Exalate console (or, from the embedded node, what it can and can't do), and
    when it expires. `fresh`: a resend's new code, the old one no longer working."""
    inviter, name = _one_line(inviter), _one_line(connection_name)
    opening = (
        f"{inviter} sent you a fresh invitation code for the Exalate connection {name}. "
        "The code you had before no longer works."
        if fresh
        else f"{inviter} invites you to the Exalate connection {name}."
    )
    route = f"From instance {local_short_name} to instance {remote_short_name}."
    expiry = f"The invitation expires on {when(expires_at, zone)}; {BOTS_RULE}."
    accept_text = EMBEDDED_NODE if embedded else "How to accept on your side:\n" + _steps_text()
    lines = [opening, route, "", "Invitation code:", "", code, ""]
    if note:
        lines += [f"Note from {inviter}:", note, ""]
    lines += [accept_text, "", expiry]
    paragraphs = [_p(opening), _p(route), "<p><strong>Invitation code</strong></p>{{CODE}}"]
    if note:
        paragraphs.append(_p(f"Note from {inviter}:") + "<blockquote>" + _p(note) + "</blockquote>")
    if embedded:
        paragraphs.append(_p(EMBEDDED_NODE))
    else:
        paragraphs.append("<p><strong>How to accept on your side</strong></p>" + _steps_html())
    paragraphs.append(_p(expiry))
    subject = (
        f"A fresh invitation code for the Exalate connection {name}"
        if fresh
        else f"{inviter} invites you to the Exalate connection {name}"
    )
    return MailContent(subject=subject, text="\n".join(lines), html=_html(paragraphs, code))


def reminder_mail(
    *,
    inviter: str,
    connection_name: str,
    waited: str,
    number: int,
    of: int,
    expires_at: datetime,
    zone: str | None,
) -> MailContent:
    """A reminder: the invitation still waits; the code is in the first e-mail."""
    inviter, name = _one_line(inviter), _one_line(connection_name)
    said = [
        f"Reminder {number} of {of}: {inviter} invited you to the Exalate connection {name} "
        f"{waited} ago, and it is still waiting for you.",
        "The invitation code is in the first e-mail about it. Accept it in your Exalate "
        "console under Connections → Accept invitation, or reply to this e-mail if it isn't "
        "for you.",
        f"The invitation expires on {when(expires_at, zone)}; {BOTS_RULE}.",
    ]
    return MailContent(
        subject=f"Reminder: the Exalate connection {name} is waiting for you",
        text="\n\n".join(said),
        html=_html([_p(line) for line in said]),
    )


def withdrawn_mail(*, inviter: str, connection_name: str) -> MailContent:
    """Cancel's short note: the invitation is withdrawn, its code no longer works."""
    inviter, name = _one_line(inviter), _one_line(connection_name)
    said = [
        f"{inviter} withdrew the invitation to the Exalate connection {name}.",
        "Its code no longer works, and there is nothing for you to do.",
    ]
    return MailContent(
        subject=f"Withdrawn: the invitation to the Exalate connection {name}",
        text="\n\n".join(said),
        html=_html([_p(line) for line in said]),
    )


def expired_mail(*, inviter: str, connection_name: str, age: str, on_node: bool) -> MailContent:
    """The invitation ran out (the bot's rule): no more reminders. `on_node`: a real node,
    where only its console stops the code."""
    inviter, name = _one_line(inviter), _one_line(connection_name)
    said = [
        f"The invitation to the Exalate connection {name} expired after {age}; {BOTS_RULE}.",
        f"I've stopped reminding you; ask {inviter} for a current invitation if you still want "
        "to connect (reply to this e-mail)."
        if on_node
        else f"Its code no longer works; {inviter} can send you a new one (reply to this e-mail).",
    ]
    return MailContent(
        subject=f"Expired: the invitation to the Exalate connection {name}",
        text="\n\n".join(said),
        html=_html([_p(line) for line in said]),
    )
