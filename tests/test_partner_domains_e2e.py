"""EXALATE_PARTNER_DOMAINS over HTTP: the partner step refuses, inline and naming the allowed
domains, a typed address elsewhere and a Slack user whose address is elsewhere or unknown;
it lets through a partner at an allowed domain, and the refusal loses nothing typed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import WIZARD, Admin, World, initial_values

ALLOWED = "Only partners at partnerco.com, initech.example can be invited"


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"exalate_partner_domains": "partnerco.com, initech.example"}


async def at_partner_step(world: World) -> tuple[Admin, str]:
    admin = Admin(world.bot, world.slack)
    view_id = await admin.connect()
    await admin.walk(view_id, *WIZARD[:4])
    assert admin.step(view_id) == "partner"
    return admin, view_id


async def test_a_typed_address_elsewhere_is_refused_inline(world: World) -> None:
    admin, view_id = await at_partner_step(world)
    typed = {"partner_email": "pat@globex.com", "notice_channel": "CNOTICE", "note": "Hi!"}
    errors = await admin.errors(view_id, typed)
    assert errors == {"partner_email": f"{ALLOWED}; pat@globex.com isn't."}
    assert world.slack.calls_to("users.lookupByEmail") == []  # refused before asking Slack
    assert admin.step(view_id) == "partner"  # the modal stays as typed: nothing lost


async def test_a_slack_user_at_another_domain_or_with_no_address_is_refused(
    world: World,
) -> None:
    world.slack.add_user("UGLOBEX", name="gina", email="gina@globex.com")
    admin, view_id = await at_partner_step(world)
    errors = await admin.errors(view_id, {"partner_user_id": "UGLOBEX"})
    assert errors == {"partner_user_id": f"{ALLOWED}; gina@globex.com isn't."}
    errors = await admin.errors(view_id, {"partner_user_id": "UOTHER"})  # no address in Slack
    assert errors == {
        "partner_user_id": "I can't see this person's e-mail address in Slack, so I can't "
        "check it against the domains partners may be invited from (partnerco.com, "
        "initech.example). Enter their e-mail address instead."
    }


async def test_a_partner_at_an_allowed_domain_goes_on_to_the_review(world: World) -> None:
    admin, view_id = await at_partner_step(world)
    await admin.walk(view_id, {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"})
    assert admin.step(view_id) == "review"
    await admin.back(view_id)
    assert initial_values(world.slack.views[view_id])["partner_user_id"] == "UPARTNER"
