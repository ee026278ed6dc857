"""Bolt's authorization in OAuth mode, from our cached installations (workspaces.Installed):
one dictionary look-up per request once a workspace has been seen, where Bolt's
AsyncInstallationStoreAuthorize reads the store on every request (and asks auth.test)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize

from bot.installs.workspaces import Installed
from bot.slack.reading import TEAM_ID

_TEAM = re.compile(TEAM_ID)


class CachedAuthorize(AsyncAuthorize):
    def __init__(self, workspaces: Installed) -> None:
        self.workspaces = workspaces

    async def __call__(
        self, *, context: Any, enterprise_id: Any, team_id: Any, user_id: Any, **_: Any
    ) -> AuthorizeResult | None:
        # the body is not read yet when Bolt authorizes: a team id of any other shape is
        # nobody's installation (the typed reading refuses that request right after)
        if not isinstance(team_id, str) or not _TEAM.fullmatch(team_id):
            return None
        return await self.workspaces.authorize(team_id)
