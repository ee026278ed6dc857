"""The messages that follow an invitation (bot/invitations/followups.py): the partner's DMs
once they lose their buttons, and the connection's status card, pass Slack's Block Kit checks
for any connection name, partner and zone, carry no buttons, and never a code once it ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.invitations import followups as f
from bot.invitations.messages import build_invitation_dm
from bot.slack.text import escape
from tests.property_kit import BUILDERS, assert_message_ok, connection_names, hostile_any

WHEN = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
NAMES = st.one_of(connection_names, hostile_any.map(lambda t: t[:100]))
# people as bot/invitations/people.py shows them: a mention, or a name escaped for mrkdwn
PEOPLE = st.one_of(st.just("<@UADMIN>"), hostile_any.map(lambda t: escape(t[:120])))
ZONES = st.sampled_from(["America/New_York", "Asia/Kolkata", "UTC", None, "Not/AZone"])


def no_buttons(message: dict[str, Any]) -> bool:
    return all(block["type"] != "actions" for block in message["blocks"])


@BUILDERS
@given(how=st.sampled_from(sorted(f.ENDED)), name=NAMES, initiator=PEOPLE, first=st.booleans())
def test_an_ended_dm(how: str, name: str, initiator: str, first: bool) -> None:
    message = f.ended_dm(how=how, when=WHEN, initiator=initiator, connection_name=name, first=first)
    assert_message_ok(message)
    assert no_buttons(message) and "<!date^" in message["blocks"][0]["text"]["text"]


@BUILDERS
@given(name=NAMES, initiator=PEOPLE, number=st.integers(1, 100))
def test_a_superseded_reminder(name: str, initiator: str, number: int) -> None:
    message = f.superseded_reminder(
        number=number, initiator=initiator, connection_name=name, when=WHEN
    )
    assert_message_ok(message)
    assert no_buttons(message)


@BUILDERS
@given(name=NAMES, initiator=PEOPLE)
def test_the_first_dm_superseded_keeps_its_code_and_loses_its_buttons(
    name: str, initiator: str
) -> None:
    code = "EXA1-" + "a" * 43
    first = build_invitation_dm(
        initiator=initiator,
        connection_name=name,
        local_short_name="acme",
        remote_short_name="partner",
        mode="script",
        code=code,
        invitation_id=7,
    )
    message = f.superseded_invitation(first, when=WHEN)
    assert_message_ok(message)
    assert no_buttons(message) and code in str(message["blocks"])


@BUILDERS
@given(
    name=NAMES,
    partner=PEOPLE,
    state=st.sampled_from([*f.STATE_SHOWN, "SOMETHING_NEW"]),
    sent=st.integers(0, 100),
    zone=ZONES,
    node_status=st.one_of(st.none(), hostile_any.map(lambda t: t[:64])),
)
def test_the_status_card(
    name: str, partner: str, state: str, sent: int, zone: str | None, node_status: str | None
) -> None:
    message = f.status_card(
        name=name,
        partner=partner,
        state=state,
        sent_at=WHEN,
        by="<@UADMIN>",
        age="3 days",
        reminders_sent=sent,
        reminders_max=100,
        next_reminder=WHEN + timedelta(days=1),
        partner_tz=zone,
        node_status=node_status,
    )
    assert_message_ok(message)
    assert no_buttons(message)


def test_the_card_gives_the_next_reminder_in_the_partners_time() -> None:
    card = f.status_card(
        name="a_to_b",
        partner="<@UPAT>",
        state="PENDING",
        sent_at=WHEN,
        by="<@UADA>",
        age="1 day",
        reminders_sent=1,
        reminders_max=5,
        next_reminder=WHEN + timedelta(days=1),  # 14:00 UTC is 09:00 in New York
        partner_tz="America/New_York",
    )
    assert "1 of 5 sent; next Wed 2 Dec, 09:00 (America/New_York)" in str(card["blocks"])
    assert card["text"].startswith("Exalate connection a_to_b: :hourglass_flowing_sand: Pending")
