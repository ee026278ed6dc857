"""The approvals' messages and modal (bot/approvals/messages.py) pass Slack's Block Kit checks
for any connection, partner, note and reason, and only the request carries buttons."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.approvals import messages as am
from bot.slack.text import escape
from storage.models import Connection
from tests.property_kit import (
    BUILDERS,
    assert_message_ok,
    assert_view_ok,
    connection_names,
    hostile_any,
)

WHEN = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
NAMES = st.one_of(connection_names, hostile_any.map(lambda t: t[:100]))
TEXTS = hostile_any.map(lambda t: t[:1000])
PEOPLE = st.one_of(st.just("<@UPARTNER>"), hostile_any.map(lambda t: escape(t[:120])))


def connection(name: str, url: str | None = "https://jira.globex.example") -> Connection:
    return Connection(
        team_id="T0001",
        name=name,
        name_key=name.lower(),
        destination="public" if url else "private",
        destination_url=url,
        mode="script",
        local_short_name="acme",
        remote_short_name="globex",
        project_key="SUP",
        project_name="Support",
        backend="local",
        initiator_user_id="UADMIN",
        partner_user_id="UPARTNER",
        partner_team_id="T0001",
        created_at=WHEN,
        updated_at=WHEN,
    )


def buttons(message: dict[str, Any]) -> list[str]:
    return [
        e["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


@BUILDERS
@given(name=NAMES, partner=PEOPLE, note=TEXTS, url=st.one_of(st.none(), TEXTS))
def test_the_request(name: str, partner: str, note: str, url: str | None) -> None:
    message = am.request_dm(
        connection(name, url), approval_id=7, partner=partner, note=note, expires_at=WHEN
    )
    assert_message_ok(message)
    assert buttons(message) == ["Approve", "Reject"]


@BUILDERS
@given(
    name=NAMES,
    state=st.sampled_from(["APPROVED", "REJECTED", "EXPIRED"]),
    reason=TEXTS,
    waited=st.just("3 days"),
)
def test_what_follows(name: str, state: str, reason: str, waited: str) -> None:
    c = connection(name)
    for message in (
        am.decided_dm(c, state=state, by="UAPPROVER", reason=reason),
        am.approved_for_initiator(c, by="UAPPROVER", partner="<@UPARTNER>"),
        am.rejected_for_initiator(c, by="UAPPROVER", reason=reason),
        am.expired_for_initiator(c, waited=waited),
        am.notice_requested(c, approvers=["UAPPROVER", "UAPP2"]),
        am.notice_rejected(c, by="UAPPROVER"),
        am.notice_expired(c),
    ):
        assert_message_ok(message)
        assert buttons(message) == []


@BUILDERS
@given(name=NAMES)
def test_the_reject_modal(name: str) -> None:
    assert_view_ok(am.build_reject_view(approval_id=7, connection_name=name))
