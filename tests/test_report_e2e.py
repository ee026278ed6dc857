"""`/exalate report` and the funnel on the admin's Home tab, end to end over HTTP, on the
seeded history of tests/test_funnel.py and the tests' clock: the exact figures for an admin,
the permissions refusal for anyone else, and no funnel on anyone else's Home."""

from __future__ import annotations

from bot.report.report import HOME_FRESH
from tests.funnel_history import REPORT_FIELDS, REPORT_TEXT, seed_history
from tests.harness import MONDAY, World, open_home, text_of

REFUSAL = (
    ":lock: Only Exalate admins can see the invitation funnel. Ask one of them: workspace "
    "admins and owners."
)


async def seeded(world: World) -> None:
    assert world.clock.now() == MONDAY
    teams = {"T1": world.slack.team_id, "T2": "T0ELSEWHERE"}
    await seed_history(world.bot.services.sessions, teams=teams)


async def test_report_for_an_admin_in_the_ack(world: World) -> None:
    await seeded(world)
    response = await world.sender.command("report", user_id="UADMIN")
    assert response.status == 200
    body = response.json
    assert body["response_type"] == "ephemeral"
    assert body["text"] == REPORT_TEXT
    assert [block["type"] for block in body["blocks"]] == ["header", "section", "context"]
    assert [f["text"] for f in body["blocks"][1]["fields"]] == REPORT_FIELDS
    assert world.slack.responses == []  # nothing after the ack


async def test_report_refuses_a_non_admin(world: World) -> None:
    await seeded(world)
    response = await world.sender.command("report", user_id="UOTHER")
    assert response.status == 200
    assert response.json == {"text": REFUSAL, "response_type": "ephemeral"}


async def test_the_admins_home_has_the_funnel_and_no_one_elses(world: World) -> None:
    await seeded(world)
    home = await open_home(world, "UADMIN")
    assert [f["text"] for f in home["blocks"][-2]["fields"]] == REPORT_FIELDS
    assert home["blocks"][-3]["text"] == {"type": "plain_text", "text": "Invitation funnel"}
    assert len(home["blocks"]) <= 100
    world.slack.add_user("UP008", name="pat8")  # p1's partner: an invitation waits for them
    partner = text_of(await open_home(world, "UP008"))
    assert "Invitations waiting for you" in partner and "acme_to_p1" in partner
    for seen in (partner, text_of(await open_home(world, "UOTHER"))):
        assert "Invitation funnel" not in seen and "Invitations sent" not in seen


async def test_help_tells_of_report(world: World) -> None:
    body = (await world.sender.command("help", user_id="UOTHER")).json
    assert "• `/exalate report`: the invitation funnel, last 30 and 90 days.\n" in body["text"]


async def test_the_homes_funnel_is_read_again_after_five_minutes_the_report_at_once(
    world: World,
) -> None:
    """The Home tab keeps a workspace's funnel for HOME_FRESH (a reading costs tenths of a
    second at 100,000 connections; bench/README.md) and says as of when; the report reads
    afresh."""
    before = await open_home(world, "UADMIN")
    empty = [f["text"] for f in before["blocks"][-2]["fields"]]
    assert empty != REPORT_FIELDS and "Invitations sent: 0" in empty[0]
    await seeded(world)
    kept = await open_home(world, "UADMIN")
    assert [f["text"] for f in kept["blocks"][-2]["fields"]] == empty
    assert kept["blocks"][-1]["elements"] == before["blocks"][-1]["elements"]  # as of then
    report = (await world.sender.command("report", user_id="UADMIN")).json
    assert [f["text"] for f in report["blocks"][1]["fields"]] == REPORT_FIELDS
    world.clock.advance(HOME_FRESH)
    fresh = await open_home(world, "UADMIN")
    now = (await world.sender.command("report", user_id="UADMIN")).json
    assert [f["text"] for f in fresh["blocks"][-2]["fields"]] == [
        f["text"] for f in now["blocks"][1]["fields"]
    ]
    assert [f["text"] for f in fresh["blocks"][-2]["fields"]] != empty
