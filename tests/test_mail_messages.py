"""The partner's e-mails, pure: what they say, and headers a hostile name or note can't add
to."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest

from bot.mail.envelope import build_message, message_id
from bot.mail.messages import (
    EMBEDDED_NODE,
    MailContent,
    expired_mail,
    invitation_mail,
    reminder_mail,
    withdrawn_mail,
)

EXPIRES = datetime(2026, 3, 14, 17, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
CODE = "EXA-0123456789abcdef"


def _invitation(**over: object) -> MailContent:
    values: dict[str, object] = {
        "inviter": "Ada (Acme)",
        "connection_name": "acme-to-globex",
        "local_short_name": "acme",
        "remote_short_name": "globex",
        "code": CODE,
        "expires_at": EXPIRES,
        "zone": "Europe/Berlin",
        "note": "Use the <Support> project & thanks",
    }
    return invitation_mail(**{**values, **over})  # type: ignore[arg-type]


def _sent(content: MailContent, **over: object):
    values: dict[str, object] = {
        "to": "pat@globex.example",
        "sender": "bot@acme.example",
        "reply_to": "ada@acme.example",
        "reply_to_name": "Ada (Acme)",
        "key": "invitation_mail:7:3",
        "date": NOW,
    }
    message = build_message(content, **{**values, **over})  # type: ignore[arg-type]
    return message_from_bytes(message.as_bytes(), policy=policy.default)


def test_the_invitation_says_who_what_the_code_how_and_until_when() -> None:
    mail = _invitation()
    for part in (mail.text, mail.html):
        assert "Ada (Acme)" in part and "acme-to-globex" in part and CODE in part
        assert "Accept invitation" in part and "Exalate console" in part
        assert "Saturday 14 March 2026 at 18:00 (Europe/Berlin)" in part  # the partner's zone
    assert "Use the <Support> project & thanks" in mail.text
    assert "Use the &lt;Support&gt; project &amp; thanks" in mail.html  # escaped in HTML
    assert "<Support>" not in mail.html
    assert mail.subject == "Ada (Acme) invites you to the Exalate connection acme-to-globex"
    assert EMBEDDED_NODE not in mail.text


def test_from_the_embedded_node_it_says_what_that_node_can_and_cant_do() -> None:
    mail = _invitation(embedded=True)
    assert EMBEDDED_NODE in mail.text and "/exalate accept" in mail.text
    assert "console can&#x27;t accept" in mail.html and "nothing syncs" in mail.text
    assert "Choose the project for incoming sync" not in mail.text


def test_a_fresh_code_says_the_old_one_is_dead() -> None:
    mail = _invitation(fresh=True, zone=None)
    assert mail.subject.startswith("A fresh invitation code") and CODE in mail.text
    assert "no longer works" in mail.text and "(UTC)" in mail.text


def test_reminder_and_withdrawn_carry_no_code() -> None:
    reminder = reminder_mail(
        inviter="Ada",
        connection_name="acme-to-globex",
        waited="2 days",
        number=2,
        of=5,
        expires_at=EXPIRES,
        zone="America/New_York",
    )
    assert "Reminder 2 of 5" in reminder.text and "2 days ago" in reminder.text
    assert "(America/New_York)" in reminder.text and CODE not in reminder.text
    withdrawn = withdrawn_mail(inviter="Ada", connection_name="acme-to-globex")
    assert withdrawn.subject.startswith("Withdrawn") and "no longer works" in withdrawn.text
    assert MailContent.from_dict(withdrawn.as_dict()) == withdrawn


def test_expired_says_what_stops_on_each_node() -> None:
    embedded = expired_mail(
        inviter="Ada\r\nBcc: x@y.z", connection_name="a", age="14 days", on_node=False
    )
    assert embedded.subject == "Expired: the invitation to the Exalate connection a"
    assert "expired after 14 days" in embedded.text and "Its code no longer works" in embedded.text
    assert "Ada Bcc: x@y.z can send you a new one" in embedded.text  # one line, no header
    node = expired_mail(inviter="Ada", connection_name="a", age="14 days", on_node=True)
    assert "stopped reminding you" in node.text and "no longer works" not in node.text


def test_a_well_formed_message() -> None:
    parsed = _sent(_invitation())
    assert parsed["From"] == "Exalate bot <bot@acme.example>"
    assert parsed["To"] == "pat@globex.example"
    assert parsed["Reply-To"] == '"Ada (Acme)" <ada@acme.example>'
    assert parsed["Message-ID"] == "<invitation_mail.7.3@acme.example>"
    assert parsed["Date"].datetime == NOW
    assert parsed.get_content_type() == "multipart/alternative"
    plain = parsed.get_body(preferencelist=("plain",))
    html = parsed.get_body(preferencelist=("html",))
    assert plain is not None and CODE in plain.get_content()
    assert html is not None and CODE in html.get_content()
    assert "Reply-To" not in _sent(_invitation(), reply_to=None)


@pytest.mark.parametrize(
    "hostile",
    [
        "Ada\r\nBcc: victim@evil.example",
        "Ada\nBcc: victim@evil.example",
        "Ada\rBcc: victim@evil.example",
    ],
)
def test_cr_lf_in_a_name_or_note_adds_no_header(hostile: str) -> None:
    content = invitation_mail(
        inviter=hostile,
        connection_name=f"conn{hostile}",
        local_short_name="acme",
        remote_short_name="globex",
        code=CODE,
        expires_at=EXPIRES,
        zone=None,
        note=f"hi{hostile}\r\nX-Evil: 1",
    )
    parsed = _sent(content, reply_to_name=hostile, sender_name=hostile)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert set(parsed.keys()) == {
        "From",
        "To",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "Content-Type",
        "MIME-Version",
    }
    assert "\n" not in str(parsed["Subject"]) and "Bcc" in str(parsed["Subject"])
    assert parsed["To"].addresses[0].addr_spec == "pat@globex.example"


def test_an_address_with_a_line_break_is_refused() -> None:
    with pytest.raises(ValueError):
        _sent(_invitation(), to="pat@globex.example\r\nBcc: x@evil.example")


def test_message_id_is_stable_and_safe() -> None:
    assert message_id("reminder_mail:1:2", "bot@acme.example") == "<reminder_mail.1.2@acme.example>"
    assert message_id("a b>c", "") == "<a.b.c@exalate-bot.invalid>"
