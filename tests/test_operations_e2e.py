"""Operating it, end to end over HTTP: the commands, the App Home tab by role and its buttons,
the permissions that guard them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from storage import repo
from storage.db import transaction
from storage.models import Connection, Invitation
from tests.harness import (
    MONDAY,
    World,
    at,
    db_rows,
    eventually,
    open_home,
    text_of,
)
from tests.slack_emulator import SlackEmulator


@pytest.fixture
def bot_settings(slack: SlackEmulator) -> dict[str, Any]:
    """Admins by list and by user group, in a workspace that has the group."""
    slack.add_usergroup("S0ADMINS", ["UGROUPIE"])
    slack.add_user("UGROUPIE", name="gus")
    return {"reminder_max": 2, "exalate_admins": "UADMIN,S0ADMINS"}


async def seed(world: World, count: int, *, status: str = "PENDING", start: int = 0) -> None:
    """`count` connections straight into the database, one minute apart, newest last."""
    bot, slack = world.bot, world.slack
    async with transaction(bot.services.sessions) as session:
        for n in range(start, start + count):
            partner = f"UP{n:04d}"
            slack.add_user(partner, name=f"partner{n}")
            when = MONDAY - timedelta(days=1) + timedelta(minutes=n)
            connection, _ = await repo.create_connection(
                session=session,
                team_id=slack.team_id,
                answers={
                    "destination": "private",
                    "mode": "script",
                    "local_short_name": "acme",
                    "remote_short_name": f"p{n}",
                    "connection_name": f"acme_to_p{n:04d}",
                    "project_key": "SUP",
                },
                backend="local",
                backend_id=None,
                initiator_user_id="UADMIN",
                partner_user_id=partner,
                partner_team_id=slack.team_id,
                code_hash=f"{n:064d}",
                expires_at=when + timedelta(days=14),
                next_reminder_at=when + timedelta(days=1),
                now=when,
            )
            if status != "PENDING":
                await session.exec(  # type: ignore[call-overload]
                    update(Connection)
                    .where(Connection.id == connection.id)
                    .values(status=status, activated_at=when)
                )


async def command(world: World, text: str, user: str = "UADMIN") -> dict[str, Any]:
    response = await world.sender.command(text, user_id=user)
    assert response.status == 200
    if not response.text:  # answered after the ack, through response_url
        await eventually(lambda: world.slack.responses)
        return world.slack.responses[-1]
    body = response.json
    assert body["response_type"] == "ephemeral"
    return body


async def test_help_for_empty_help_and_unknown(world: World) -> None:
    for text in ("", "help", "frobnicate now"):
        body = await command(world, text, user="UOTHER")
        for shown in (
            "/exalate connect",
            "/exalate list",
            "/exalate status",
            "/exalate resend",
            "/exalate cancel",
            "/exalate accept",
            "<@UADMIN>",
            "<!subteam^S0ADMINS>",
        ):
            assert shown in body["text"], shown


async def test_list_newest_first_paged_and_filtered(world: World) -> None:
    await seed(world, 25)
    await seed(world, 3, status="ACTIVE", start=100)
    pending = await command(world, "list pending")
    text = text_of(pending)
    assert "Pending connections* (1–10 of 25, newest first)" in text
    names = [n for n in (f"acme_to_p{i:04d}" for i in range(25)) if n in text]
    assert names == [f"acme_to_p{i:04d}" for i in range(15, 25)]
    assert text.index("acme_to_p0024") < text.index("acme_to_p0015")  # newest first
    assert "<@UP0024>" in text and "0 of 2 reminders" in text and "next reminder" in text

    message = {
        "channel": "C0GENERAL",
        "ts": "1.1",
        "text": pending["text"],
        "blocks": pending["blocks"],
    }
    await world.sender.click(action_id="list_page_older", message=message, user_id="UADMIN")
    page2 = await eventually(lambda: world.slack.responses[-1:])
    assert page2[0]["replace_original"] is True
    assert "(11–20 of 25" in text_of(page2[0]) and "acme_to_p0014" in text_of(page2[0])

    assert "(1–3 of 3" in text_of(await command(world, "list active"))
    assert "of 28" in text_of(await command(world, "list all"))
    assert "of 28" in text_of(await command(world, "list"))
    assert "none" in text_of(await command(world, "list declined"))


async def test_status_with_the_audit_trail_and_a_near_miss(world: World) -> None:
    await world.initiate()
    await world.sweep(at(3, 14))
    status = text_of(await command(world, "status ACME_TO_PARTNERCO"))
    for shown in (
        "acme_to_partnerco",
        "initiated",
        "(— → PENDING)",
        "invitation_dm_sent",
        "reminded",
        "reminder 1 of 2",
        "<@UADMIN>",
        "Support (SUP)",
    ):
        assert shown in status, shown
    miss = await command(world, "status acme_to_partnerc")
    assert "Did you mean `acme_to_partnerco`?" in miss["text"]
    assert "Did you mean" not in (await command(world, "status zzz"))["text"]
    assert "Which connection?" in (await command(world, "status"))["text"]
    # Bolt's own form parsing reads a command whose text says "payload" as an empty body
    assert "payload" in (await command(world, "status payload"))["text"]


async def test_resend_by_command_fresh_code_and_cadence_restart(world: World) -> None:
    old_code = await world.initiate()
    await world.sweep(at(3, 14))
    world.clock.set(at(4, 10))
    reply = await command(world, "resend acme_to_partnerco")
    assert "Resent `acme_to_partnerco`" in reply["text"]
    dm = json.dumps(world.dms("UPARTNER")[-1])
    new_code = dm[dm.index("EXA1-") : dm.index("EXA1-") + 48]
    assert new_code != old_code
    invitations = await db_rows(world.bot, Invitation)
    assert [i.state for i in invitations] == ["REVOKED", "PENDING"]
    assert (invitations[-1].reminders_sent, invitations[-1].next_reminder_at) == (0, at(5, 14))
    refused = await world.accept_by_command("UPARTNER", old_code)
    assert "withdrawn or replaced" in refused["errors"]["code"]
    assert (await world.accept_by_command("UPARTNER", new_code))["response_action"] == "update"


async def test_resend_after_expiry_by_command(world: World) -> None:
    old_code = await world.initiate()
    await world.sweep(MONDAY + timedelta(days=14))
    assert await world.state() == ("EXPIRED", "EXPIRED")
    await command(world, "resend acme_to_partnerco")
    assert await world.state() == ("PENDING", "PENDING")
    dm = json.dumps(world.dms("UPARTNER")[-1])
    assert "EXA1-" in dm and old_code not in dm


async def test_cancel_asks_first_then_the_code_stops_working(world: World) -> None:
    code = await world.initiate()
    question = await command(world, "cancel Acme_To_PartnerCo")
    assert "Cancel the invitation for `acme_to_partnerco`?" in question["text"]
    message = {
        "channel": "C0GENERAL",
        "ts": "1.1",
        "text": question["text"],
        "blocks": question["blocks"],
    }
    await world.click("cancel_keep", message, "UADMIN")
    assert world.slack.responses[-1]["text"] == "Kept: nothing changed."
    assert await world.state() == ("PENDING", "PENDING")

    await world.click("cancel_confirm", message, "UOTHER")
    assert "Only Exalate admins" in world.said()[-1]
    await world.click("cancel_confirm", message, "UADMIN")
    assert "Cancelled" in world.slack.responses[-1]["text"]
    assert await world.state() == ("CANCELLED", "REVOKED")
    assert "withdrew the invitation" in world.dms("UPARTNER")[-1]["text"]
    await eventually(lambda: "cancelled the invitation" in world.thread()[-1]["text"])
    refused = await world.accept_by_command("UPARTNER", code)
    assert "withdrawn" in refused["errors"]["code"]
    again = await command(world, "cancel acme_to_partnerco")
    assert "only a pending or expired invitation" in again["text"]


@pytest.mark.parametrize("text", ["connect", "list", "status x", "resend x", "cancel x"])
async def test_each_admin_command_refuses_others(world: World, text: str) -> None:
    body = await command(world, text, user="UOTHER")
    assert "Only Exalate admins can" in body["text"]
    assert "<@UADMIN>, <!subteam^S0ADMINS>" in body["text"]
    assert world.slack.calls_to("views.open") == []


async def test_a_user_group_admin(world: World) -> None:
    await seed(world, 2)
    assert "of 2" in text_of(await command(world, "list", user="UGROUPIE"))
    assert "of 2" in text_of(await command(world, "list", user="UGROUPIE"))
    assert len(world.slack.calls_to("usergroups.users.list")) == 1  # cached


async def test_home_for_an_admin(world: World) -> None:
    await world.initiate()
    await seed(world, 2, status="ACTIVE")
    home = await open_home(world, "UADMIN")
    text = text_of(home)
    for shown in (
        "*Pending* 1",
        "*Active* 2",
        "New connection",
        "Waiting for partners",
        "acme_to_partnerco",
        "<@UPARTNER>",
        "0 of 2 reminders",
        "Remind now",
        "admin_resend",
        "admin_cancel",
        "Recently active",
        "acme_to_p0001",
    ):
        assert shown in text, shown
    assert home["type"] == "home" and len(home["blocks"]) <= 100


async def test_home_for_a_partner_and_for_anyone_else(world: World) -> None:
    await world.initiate()
    partner = text_of(await open_home(world, "UPARTNER"))
    assert "Invitations waiting for you" in partner and "partner_accept" in partner
    assert "Waiting for partners" not in partner and "New connection" not in partner
    other = text_of(await open_home(world, "UOTHER"))
    assert "Exalate admins here: <@UADMIN>, <!subteam^S0ADMINS>" in other
    assert "acme_to_partnerco" not in other


async def click_home(
    world: World, user: str, action_id: str, home: dict[str, Any] | None = None
) -> None:
    home = home or world.slack.home_views[user]
    response = await world.sender.click(action_id=action_id, view_id=home["id"], user_id=user)
    assert response.status == 200


async def test_home_buttons(world: World) -> None:
    await world.initiate()
    await open_home(world, "UADMIN")
    await click_home(world, "UADMIN", "home_connect")
    await eventually(lambda: len(world.slack.calls_to("views.open")) == 2)

    published = len(world.slack.calls_to("views.publish"))
    await click_home(world, "UADMIN", "home_remind")
    await eventually(lambda: len(world.slack.calls_to("views.publish")) > published)
    assert "Reminder sent" in text_of(world.slack.home_views["UADMIN"])
    assert "Reminder 1 of 2" in world.dms("UPARTNER")[-1]["text"]
    assert "1 of 2 reminders" in text_of(world.slack.home_views["UADMIN"])

    published = len(world.slack.calls_to("views.publish"))
    await click_home(world, "UADMIN", "admin_resend")
    await eventually(lambda: len(world.slack.calls_to("views.publish")) > published)
    assert "Resent with a fresh code" in text_of(world.slack.home_views["UADMIN"])

    published = len(world.slack.calls_to("views.publish"))
    await click_home(world, "UADMIN", "admin_cancel")
    await eventually(lambda: len(world.slack.calls_to("views.publish")) > published)
    home = text_of(world.slack.home_views["UADMIN"])
    assert "Cancelled" in home and "*Cancelled* 1" in home and "*Pending* 0" in home


async def test_home_buttons_refuse_others(world: World) -> None:
    await world.initiate()
    home = await open_home(world, "UADMIN")
    for action in ("home_connect", "home_remind", "admin_resend", "admin_cancel"):
        published = len(world.slack.calls_to("views.publish"))
        await click_home(world, "UOTHER", action, home)  # a forged click on the admin's buttons
        await eventually(lambda n=published: len(world.slack.calls_to("views.publish")) > n)
        assert "Only Exalate admins" in text_of(world.slack.home_views["UOTHER"])
    assert len(world.slack.calls_to("views.open")) == 1  # the wizard, opened by the admin
    assert await world.state() == ("PENDING", "PENDING")
    assert not any("Reminder" in m["text"] for m in world.dms("UPARTNER"))


async def test_home_refreshes_when_a_connection_changes(world: World) -> None:
    code = await world.initiate()
    await open_home(world, "UADMIN")
    await open_home(world, "UPARTNER")
    await open_home(world, "UOTHER")
    assert (await world.accept_by_command("UPARTNER", code))["response_action"] == "update"
    published = len(world.slack.calls_to("views.publish"))
    report = await world.sweep()
    assert report.homes == 2  # the admin's and the partner's, not the bystander's
    assert len(world.slack.calls_to("views.publish")) == published + 2
    assert "*Active* 1" in text_of(world.slack.home_views["UADMIN"])
    assert "partner_accept" not in text_of(world.slack.home_views["UPARTNER"])
    assert (await world.sweep()).homes == 0


async def test_home_stays_inside_100_blocks(world: World) -> None:
    await seed(world, 60)
    await seed(world, 20, status="ACTIVE", start=100)
    home = await open_home(world, "UADMIN")
    assert len(home["blocks"]) <= 100
    text = text_of(home)
    assert "and 45 more" in text and "*Pending* 60" in text and "*Active* 20" in text
    assert "acme_to_p0059" in text and "acme_to_p0044" not in text  # newest 15
