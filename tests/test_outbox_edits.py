"""Edits through the outbox (issue 17): a row with `edit_of` changes the message another row
posted (chat.update), in its turn like a post; a message Slack can no longer edit is posted
afresh, and later edits go to the fresh one; edits made stale by a newer one are dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import FakeClock
from bot.delivery.rows import enqueue, enqueue_edit, outbox_row
from storage.db import transaction
from storage.models import Outbox
from tests.harness import TEAM, RunningBot, db_rows, make_settings, start_bot
from tests.slack_emulator import SlackEmulator

CHANNEL = "C0GENERAL"


@pytest.fixture
async def bot(
    slack: SlackEmulator, database_url: str, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    """The bot on SQLite, then on PostgreSQL."""
    running = await start_bot(slack, make_settings(slack, database_url), clock=clock)
    yield running
    await running.stop()


def _message(text: str) -> dict[str, Any]:
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


async def _post(bot: RunningBot, clock: FakeClock, key: str, channel: str = CHANNEL) -> int:
    """A message posted through the outbox; its row's id."""
    async with transaction(bot.services.sessions) as session:
        row = await enqueue(
            session,
            outbox_row(
                team_id=TEAM,
                key=key,
                purpose="dm",
                channel=channel,
                message=_message(f"{key}: waiting"),
                now=clock.now(),
            ),
        )
    assert row is not None and row.id is not None
    [delivery] = await bot.services.courier.run(ids=[row.id])
    assert delivery.ok
    return row.id


async def _edit(bot: RunningBot, clock: FakeClock, target: int, n: int, text: str) -> int:
    async with transaction(bot.services.sessions) as session:
        row = await enqueue_edit(
            session,
            outbox_row(
                team_id=TEAM,
                key=f"edit:{target}:{n}",
                purpose="dm_edit",
                channel=CHANNEL,
                message=_message(text),
                now=clock.now(),
                edit_of=target,
            ),
        )
    assert row is not None and row.id is not None
    return row.id


def _posted(slack: SlackEmulator) -> list[dict[str, Any]]:
    return [m for m in slack.messages if m["channel"] == CHANNEL]


async def test_an_edit_changes_the_message_its_row_posted(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    target = await _post(bot, clock, "invitation")
    await bot.services.courier.run(ids=[await _edit(bot, clock, target, 1, "accepted")])
    [update] = slack.calls_to("chat.update")
    [message] = _posted(slack)
    assert (update.params["channel"], update.params["ts"]) == (CHANNEL, message["ts"])
    assert message["text"] == "accepted" and message.get("edited")
    assert len(slack.calls_to("chat.postMessage")) == 1  # no new message


async def test_a_message_slack_cant_edit_is_posted_afresh_and_edited_there_next(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    target = await _post(bot, clock, "card")
    first_ts = _posted(slack)[0]["ts"]
    slack.fail_next("chat.update", error="message_not_found")
    [delivery] = await bot.services.courier.run(ids=[await _edit(bot, clock, target, 1, "v2")])
    assert delivery.ok and delivery.ts != first_ts
    assert [m["text"] for m in _posted(slack)] == ["card: waiting", "v2"]  # a fresh message
    await bot.services.courier.run(ids=[await _edit(bot, clock, target, 2, "v3")])
    assert slack.calls_to("chat.update")[-1].params["ts"] == delivery.ts  # the fresh one
    assert [m["text"] for m in _posted(slack)] == ["card: waiting", "v3"]
    rows = {row.id: row for row in await db_rows(bot, Outbox)}
    assert rows[target].posted_ts == delivery.ts
    assert all(row.failed_at is None for row in rows.values())  # nothing failed, no retry loop


async def test_cant_update_message_also_falls_back_to_a_fresh_post(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    target = await _post(bot, clock, "card")
    slack.fail_next("chat.update", error="cant_update_message")
    [delivery] = await bot.services.courier.run(ids=[await _edit(bot, clock, target, 1, "v2")])
    assert delivery.ok
    assert [m["text"] for m in _posted(slack)] == ["card: waiting", "v2"]


async def test_edits_under_429_collapse_to_the_latest_state(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    """Ten changes while Slack answers 429: the first edit is put back for Retry-After, each
    newer one drops the older, and one chat.update carries the tenth state."""
    target = await _post(bot, clock, "card")
    slack.fail_next("chat.update", status=429, retry_after=30)
    await bot.services.courier.run(ids=[await _edit(bot, clock, target, 1, "state 1")])
    for n in range(2, 11):
        await _edit(bot, clock, target, n, f"state {n}")
        tried = await bot.services.courier.run()  # put back: the workspace waits out the 429
        assert [d.error for d in tried] in ([], ["paused"])
    clock.advance(timedelta(seconds=31))
    [delivery] = await bot.services.courier.run()
    assert delivery.ok
    updates = [c for c in slack.calls_to("chat.update") if not c.failed]
    assert [c.params["text"] for c in updates] == ["state 10"]
    assert _posted(slack)[0]["text"] == "state 10"
    edits = [row for row in await db_rows(bot, Outbox) if row.edit_of == target]
    assert sorted(row.last_error or "" for row in edits if row.failed_at) == ["superseded"] * 9


async def test_an_edit_of_a_message_not_sent_yet_waits_and_one_never_sent_ends(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    async with transaction(bot.services.sessions) as session:
        later = await enqueue(
            session,
            outbox_row(
                team_id=TEAM,
                key="later",
                purpose="dm",
                channel=CHANNEL,
                message=_message("later: waiting"),
                now=clock.now() + timedelta(minutes=5),  # not due yet
            ),
        )
    assert later is not None and later.id is not None
    edit = await _edit(bot, clock, later.id, 1, "later: done")
    [waiting] = await bot.services.courier.run(ids=[edit])
    assert (waiting.ok, waiting.retrying, waiting.error) == (
        False,
        True,
        "nothing to edit (waiting)",
    )
    clock.advance(timedelta(minutes=6))
    await bot.services.courier.run(ids=[later.id])
    await bot.services.courier.run(ids=[edit])
    assert [m["text"] for m in _posted(slack)] == ["later: done"]

    gone = await _edit(bot, clock, 999_999, 1, "nobody")
    [ended] = await bot.services.courier.run(ids=[gone])
    assert (ended.ok, ended.retrying, ended.error) == (False, False, "nothing to edit (gone)")


async def test_the_emulator_paces_edits_with_posts(slack: SlackEmulator) -> None:
    """Slack's second per channel counts edits as well as posts."""
    slack.enforce_pace(per_channel_seconds=60.0, per_minute=300)
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
    posted = await client.chat_postMessage(channel=CHANNEL, text="first")
    with pytest.raises(SlackApiError) as refused:
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text="too soon")
    assert refused.value.response.status_code == 429


async def test_an_edit_takes_a_turn_in_its_channel_like_a_post(
    bot: RunningBot, slack: SlackEmulator, clock: FakeClock
) -> None:
    """The bot's pacer counts edits with posts: a post, then an edit of it in the same
    channel, get turns a channel's second apart."""
    booked: list[tuple[str, float]] = []
    pacer = bot.services.courier.pacer
    real_wait = pacer.wait

    async def wait(team_id: str, channel: str, **kw: Any) -> float:
        waited = await real_wait(team_id, channel, **kw)
        booked.append((channel, pacer._channel_next[(team_id, channel)]))
        return waited

    pacer.wait = wait  # type: ignore[method-assign]
    target = await _post(bot, clock, "card")
    await bot.services.courier.run(ids=[await _edit(bot, clock, target, 1, "v2")])
    (first_channel, first), (second_channel, second) = booked
    assert first_channel == second_channel == CHANNEL
    assert second - first >= pacer.per_channel_seconds
