"""Who may do what, decided in one place.

Admins are the user and user-group IDs in EXALATE_ADMINS (groups resolved with
usergroups.users.list and cached for a few minutes) or, when it is unset, the workspace's
admins and owners (users.info, whose answer is cached for a minute: `/exalate connect`
answers within Slack's 3 s without asking Slack every time, and a change of role counts
within a minute).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.errors import SLACK_FAILURES, ForThePerson, slack_error

log = logging.getLogger(__name__)

GROUP_TTL = 300.0
ROLE_TTL = 60.0


class CannotCheck(ForThePerson):
    """Slack didn't answer the question "is this an admin?"; the message says so."""

    def __init__(self, error: str) -> None:
        super().__init__(
            f":warning: I couldn't check who may do that just now (Slack: `{error}`); "
            "please try again in a moment."
        )


class Permissions:
    def __init__(self, admins: list[str], *, monotonic: Callable[[], float] = time.monotonic):
        self.users = {a for a in admins if a[0] in "UW"}
        self.groups = [a for a in admins if a.startswith("S")]
        self._cache: dict[tuple[str, str], tuple[float, frozenset[str]]] = {}
        self._roles: dict[tuple[str, str], tuple[float, bool]] = {}
        self._monotonic = monotonic

    async def is_admin(self, client: AsyncWebClient, *, team_id: str, user_id: str) -> bool:
        if not self.users and not self.groups:
            return await self._is_workspace_admin(client, team_id, user_id)
        if user_id in self.users:
            return True
        for group in self.groups:
            if user_id in await self._group_members(client, team_id, group):
                return True
        return False

    async def _is_workspace_admin(self, client: AsyncWebClient, team_id: str, user_id: str) -> bool:
        key = (team_id, user_id)
        cached = self._roles.get(key)
        if cached and self._monotonic() - cached[0] < ROLE_TTL:
            return cached[1]
        try:
            user = (await client.users_info(user=user_id))["user"]
        except SLACK_FAILURES as exc:
            error = slack_error(exc)
            log.warning("users.info failed for the admin check: %s", error)
            raise CannotCheck(error) from None
        admin = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        if len(self._roles) > 10_000:  # bounded: forget the oldest answers
            for old in sorted(self._roles, key=lambda k: self._roles[k][0])[:5_000]:
                del self._roles[old]
        self._roles[key] = (self._monotonic(), admin)
        return admin

    async def _group_members(
        self, client: AsyncWebClient, team_id: str, group: str
    ) -> frozenset[str]:
        key = (team_id, group)
        cached = self._cache.get(key)
        if cached and self._monotonic() - cached[0] < GROUP_TTL:
            return cached[1]
        try:
            response = await client.usergroups_users_list(usergroup=group)
            members = frozenset(response.get("users") or [])
        except SLACK_FAILURES as exc:
            error = slack_error(exc)
            log.warning("usergroups.users.list failed for %s: %s", group, error)
            if cached:
                return cached[1]  # a stale answer beats none
            raise CannotCheck(error) from None
        self._cache[key] = (self._monotonic(), members)
        return members

    async def members(self, client: AsyncWebClient, *, team_id: str) -> list[str]:
        """Everyone the list names: its users, then its groups' members (in order, once)."""
        found = sorted(self.users)
        for group in self.groups:
            found += sorted(await self._group_members(client, team_id, group))
        return list(dict.fromkeys(found))

    def who_may_initiate(self) -> str:
        if not self.users and not self.groups:
            return "workspace admins and owners"
        names = [f"<@{u}>" for u in sorted(self.users)]
        names += [f"<!subteam^{g}>" for g in self.groups]
        return ", ".join(names)

    def refusal(self, what: str) -> str:
        return f":lock: Only Exalate admins can {what}. Ask one of them: {self.who_may_initiate()}."
