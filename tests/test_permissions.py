"""Who may initiate: the workspace-role and user-group answers, and how long they are kept."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.permissions import GROUP_TTL, ROLE_TTL, CannotCheck, Permissions
from tests.slack_emulator import SlackEmulator


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(slack: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)


async def test_a_workspace_role_is_asked_once_a_minute(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    ticks = Ticks()
    permissions = Permissions([], monotonic=ticks)
    assert await permissions.is_admin(client, team_id="T0001", user_id="UADMIN")
    assert not await permissions.is_admin(client, team_id="T0001", user_id="UOTHER")
    ticks.now += ROLE_TTL - 1
    slack.users["UADMIN"]["is_admin"] = False  # demoted: not yet seen
    assert await permissions.is_admin(client, team_id="T0001", user_id="UADMIN")
    assert not await permissions.is_admin(client, team_id="T0001", user_id="UOTHER")
    assert [c.params["user"] for c in slack.calls_to("users.info")] == ["UADMIN", "UOTHER"]
    ticks.now += 2  # a minute on: asked again, and the demotion counts
    assert not await permissions.is_admin(client, team_id="T0001", user_id="UADMIN")
    assert len(slack.calls_to("users.info")) == 3


async def test_the_same_user_id_in_another_workspace_is_asked_separately(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    permissions = Permissions([], monotonic=Ticks())
    assert await permissions.is_admin(client, team_id="T0001", user_id="UADMIN")
    assert await permissions.is_admin(client, team_id="T0002", user_id="UADMIN")
    assert len(slack.calls_to("users.info")) == 2


async def test_a_failed_check_is_not_remembered(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    permissions = Permissions([], monotonic=Ticks())
    slack.fail_next("users.info", error="internal_error")
    with pytest.raises(CannotCheck, match="internal_error"):
        await permissions.is_admin(client, team_id="T0001", user_id="UADMIN")
    assert await permissions.is_admin(client, team_id="T0001", user_id="UADMIN")
    assert len(slack.calls_to("users.info")) == 2


async def test_groups_are_kept_five_minutes_and_a_stale_answer_beats_none(
    slack: SlackEmulator, client: AsyncWebClient
) -> None:
    slack.add_usergroup("S0ADMINS", ["UOTHER"])
    ticks = Ticks()
    permissions = Permissions(["S0ADMINS", "UOWNER"], monotonic=ticks)
    assert await permissions.is_admin(client, team_id="T0001", user_id="UOWNER")  # listed
    assert await permissions.is_admin(client, team_id="T0001", user_id="UOTHER")
    assert not await permissions.is_admin(client, team_id="T0001", user_id="UADMIN")
    assert len(slack.calls_to("usergroups.users.list")) == 1
    assert slack.calls_to("users.info") == []  # a listed admin set ignores workspace roles
    ticks.now += GROUP_TTL + 1
    slack.fail_next("usergroups.users.list", status=503)
    assert await permissions.is_admin(client, team_id="T0001", user_id="UOTHER")
    ticks.now += 1
    slack.add_usergroup("S0ADMINS", [])
    assert not await permissions.is_admin(client, team_id="T0001", user_id="UOTHER")
