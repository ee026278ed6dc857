"""The messages of a real node's changes (bot/invitations/node_messages.py) pass Slack's
Block Kit checks for any connection name and any status a node may send, and none of that
text can ping or break out of its code span."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.invitations import node_messages as nm
from tests.property_kit import (
    BUILDERS,
    FORBIDDEN,
    assert_message_ok,
    connection_names,
    hostile_any,
)

STATUSES = st.one_of(
    st.sampled_from(["PAUSED", "ERROR", "ACTIVE", "<!CHANNEL>", "A`B", "&LT;"]),
    hostile_any.map(lambda t: t.strip().upper()[:64]).filter(bool),
)
MESSAGES: list[Callable[[str, str], dict[str, Any]]] = [
    lambda name, status: nm.notice_reactivated(name=name),
    lambda name, status: nm.dm_reactivated(name=name),
    lambda name, status: nm.notice_node_status(name=name, status=status, state="ACTIVE"),
    lambda name, status: nm.notice_node_status(name=name, status=status, state="PENDING"),
    lambda name, status: nm.notice_node_agrees(name=name, status=status),
]


@BUILDERS
@given(
    build=st.sampled_from(MESSAGES),
    name=st.one_of(connection_names, hostile_any.map(lambda t: t[:100])),
    status=STATUSES,
)
def test_every_node_message_passes_the_block_kit_checks(
    build: Callable[[str, str], dict[str, Any]], name: str, status: str
) -> None:
    assert_message_ok(build(name, status))


@given(status=STATUSES)
def test_a_status_is_one_code_span_that_cannot_ping(status: str) -> None:
    shown = nm.shown_status(status)
    assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2
    assert not any(token.upper() in shown.upper() for token in FORBIDDEN)


def test_what_the_messages_say() -> None:
    paused = nm.notice_node_status(name="a_to_b", status="PAUSED", state="ACTIVE")
    assert paused["text"] == (
        ":grey_question: `a_to_b` is now `PAUSED` on the Exalate node. The bot has no step for "
        "that status: here it stays Active, and the bot keeps following the connection."
    )
    assert nm.notice_node_agrees(name="a_to_b", status="ACTIVE")["text"].endswith(
        "`a_to_b` is `ACTIVE` on the Exalate node again."
    )
    assert "reactivated" in nm.notice_reactivated(name="a_to_b")["text"]
    assert "reactivated" in nm.dm_reactivated(name="a_to_b")["text"]
