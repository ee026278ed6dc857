"""The bot answers Slack at the ack: the work a listener does afterwards (opening a modal,
publishing a Home tab, delivering an invitation) never holds up the answer, and a failure
there still reaches the person."""

from __future__ import annotations

import gc
import weakref

from bot.__main__ import GC_THRESHOLDS, settle_heap
from bot.devtools.waiting import eventually
from tests.harness import WIZARD, Admin, RunningBot, World
from tests.slack_emulator import SlackEmulator


async def test_a_command_is_answered_before_its_modal_opens(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    slack.fail_next("views.open", delay=2.0)  # Slack slow to open it (still within 3 s)
    assert bot.sender is not None
    response = await bot.sender.command("connect", user_id="UADMIN")
    assert response.status == 200
    assert [c.response for c in slack.calls_to("views.open")] in ([], [{}])  # not opened yet
    await eventually(lambda: [c.response.get("ok") for c in slack.calls_to("views.open")] == [True])


async def test_an_event_is_answered_before_the_home_tab_is_published(
    bot: RunningBot, slack: SlackEmulator
) -> None:
    slack.fail_next("views.publish", delay=2.0)
    assert bot.sender is not None
    response = await bot.sender.event(
        {"type": "app_home_opened", "user": "UADMIN", "channel": "D0ADMIN", "tab": "home"}
    )
    assert response.status == 200
    assert [c.response for c in slack.calls_to("views.publish")] in ([], [{}])
    await eventually(
        lambda: [c.response.get("ok") for c in slack.calls_to("views.publish")] == [True]
    )


async def test_initiate_is_answered_before_the_invitation_goes_out(
    world: World, slack: SlackEmulator
) -> None:
    admin = Admin(world.bot, slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD[:-1])
    slack.fail_next("conversations.open", delay=2.0)
    body = await admin.submit(view_id, WIZARD[-1])
    assert body["response_action"] == "update"  # the code, shown at once
    assert "EXA1-" in str(body["view"])
    assert slack.calls_to("chat.postMessage") == []  # the DM is still on its way
    await eventually(lambda: slack.calls_to("chat.postMessage"), within=5)


async def test_the_database_connections_are_open_before_the_first_request(
    bot: RunningBot,
) -> None:
    """The pool is filled at start, so the first burst of requests doesn't open connections
    (with asyncpg a login each, with aiosqlite a thread each) while Slack waits."""
    pool = bot.services.engine.pool
    assert pool.checkedin() == pool.size() == 10  # type: ignore[attr-defined]


def test_the_collector_leaves_start_up_objects_alone_and_runs_less_often() -> None:
    class Cycle:
        def __init__(self) -> None:
            self.me = self

    keep, garbage = Cycle(), Cycle()
    collected = weakref.ref(garbage)
    del garbage
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        frozen = settle_heap()
        assert collected() is None  # start-up's garbage is freed, not kept forever
        assert frozen == gc.get_freeze_count() > 1000
        assert not any(o is keep for o in gc.get_objects())  # what lives is left alone
        assert gc.get_threshold() == GC_THRESHOLDS != thresholds
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
