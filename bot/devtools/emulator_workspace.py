"""One emulated workspace's state: its identity (team, name, domain, the app's bot user and,
once installed, its bot token), its users, channels, user groups and the bot's IMs, the open
views (modals and Home tabs), trigger_ids, and what the bot posted there (messages,
ephemerals). The Web API methods (bot/devtools/emulator_methods.py) act on it; tests set it
up with add_user, add_channel, add_usergroup, refuse_dm and the emulator's share_channel.

The records every workspace shares (calls, problems, responses) are the server's
(bot/devtools/emulator_routing.py).
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.devtools.emulator_calls import JsonDict, SlackError, with_block_ids
from bot.devtools.slack_facts import LIMITS


class WorkspaceState:
    def __init__(
        self,
        *,
        team_id: str,
        name: str,
        domain: str,
        bot_user_id: str,
        bot_token: str | None,
        app_id: str,
        bot_id: str,
        general_channel_id: str = "C0GENERAL",
        ids: Iterator[int] | None = None,
        peers: Mapping[str, WorkspaceState] | None = None,
    ) -> None:
        """`ids`: the counter of view, IM and message ids, shared by the server's workspaces
        (Slack's ids are unique across workspaces); `peers`: the server's workspaces by team
        id, where Slack Connect finds the members of a connected workspace."""
        self.team_id = team_id
        self.name = name
        self.domain = domain
        self.bot_user_id = bot_user_id
        self.bot_token = bot_token  # None until the app is installed here
        self.app_id = app_id
        self.bot_id = bot_id
        self.general_channel_id = general_channel_id
        self.scopes: list[str] = []  # granted by the last OAuth install
        self.trigger_ttl = LIMITS.trigger_seconds  # a trigger_id stays usable this long
        self._ids = ids if ids is not None else itertools.count(1)
        self._peers: Mapping[str, WorkspaceState] = peers if peers is not None else {}
        self.connected_teams: set[str] = set()  # Slack Connect: whose members are visible here

        self.users: dict[str, JsonDict] = {}
        self.channels: dict[str, JsonDict] = {}
        self.usergroups: dict[str, list[str]] = {}
        self._ims: dict[str, str] = {}  # user id -> IM channel id
        self._refused_dms: dict[str, str] = {}  # user id -> conversations.open's error
        self.add_user(bot_user_id, name="exalate", real_name="Exalate", is_bot=True)
        self.add_channel(general_channel_id, name="general")

        self.views: dict[str, JsonDict] = {}  # open views by id (modals and Home tabs)
        self.home_views: dict[str, JsonDict] = {}  # by user id
        self.view_errors: dict[str, JsonDict] = {}  # response_action "errors" by view id
        self._posted: dict[tuple[str, str], JsonDict] = {}  # (channel, ts) -> message
        self._triggers: dict[str, float] = {}  # trigger_id -> issued at (monotonic)
        self._used_triggers: set[str] = set()
        # records (cleared by SlackEmulator.reset())
        self.messages: list[JsonDict] = []  # successful chat.postMessage, kept current
        self.ephemerals: list[JsonDict] = []

    @property
    def installed(self) -> bool:
        return self.bot_token is not None

    def __repr__(self) -> str:
        return f"<Workspace {self.team_id} {self.name!r} installed={self.installed}>"

    # -- users, channels, groups -------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str | None = None,
        email: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_primary_owner: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        tz: str = "Europe/Berlin",
        tz_offset: int | None = None,
        team_id: str | None = None,
    ) -> JsonDict:
        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        real_name = real_name if real_name is not None else name
        user: JsonDict = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": deleted,
            "is_bot": is_bot,
            "is_app_user": False,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": is_primary_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "tz": tz,
            "tz_label": now.tzname(),
            "tz_offset": tz_offset if tz_offset is not None else int(offset.total_seconds()),
            "updated": int(time.time()),
            "profile": {
                "real_name": real_name,
                "real_name_normalized": real_name,
                "display_name": name,
                "display_name_normalized": name,
                "team": team_id or self.team_id,
            },
        }
        if email is not None:
            user["profile"]["email"] = email
        if is_bot:
            user["profile"] |= {"bot_id": self.bot_id, "api_app_id": self.app_id}
        self.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
        is_im: bool = False,
    ) -> JsonDict:
        channel = {
            "id": channel_id,
            "name": name,
            "is_channel": not (is_private or is_im),
            "is_group": is_private,
            "is_im": is_im,
            "is_mpim": False,
            "is_private": is_private or is_im,
            "is_archived": is_archived,
            "is_general": name == "general",
            "is_member": is_member,
            "created": int(time.time()),
        }
        self.channels[channel_id] = channel
        return channel

    def external_user(self, user_id: str) -> JsonDict | None:
        """A member of a Slack Connect workspace, as this workspace sees them (their own team)."""
        for team_id in sorted(self.connected_teams):
            peer = self._peers.get(team_id)
            if peer is not None and user_id in peer.users:
                return peer.users[user_id]
        return None

    def refuse_dm(self, user_id: str, *, error: str = "user_not_visible") -> None:
        """Make conversations.open (and chat.postMessage to the user) answer `error`, as Slack
        does for an external person the bot shares no channel with (`user_not_visible`,
        `invalid_user_combination`)."""
        self._refused_dms[user_id] = error

    def dm_user(self, channel_id: str) -> str | None:
        """The user whose DM with the bot this channel is, if it is one."""
        return next((u for u, c in self._ims.items() if c == channel_id), None)

    def add_usergroup(self, group_id: str, users: list[str]) -> None:
        self.usergroups[group_id] = list(users)

    def issue_trigger_id(self) -> str:
        """A trigger_id as Slack puts in commands and interactions (usable once, for 3 s)."""
        trigger_id = f"{next(self._ids)}.{int(time.time())}.{uuid.uuid4().hex[:20]}"
        self._triggers[trigger_id] = time.monotonic()
        return trigger_id

    def _user(self, user_id: str) -> JsonDict:
        """A member, or a Slack Connect member visible here."""
        user = self.users.get(user_id) or self.external_user(user_id)
        if user is None:
            raise SlackError("user_not_found")
        return user

    def _open_im(self, user_id: str) -> tuple[JsonDict, bool]:
        """The bot's IM with `user_id` (created on first use); second item: it already existed."""
        if self._user(user_id)["deleted"]:
            raise SlackError("user_disabled")
        if user_id in self._refused_dms:
            raise SlackError(self._refused_dms[user_id])
        existed = user_id in self._ims
        if not existed:
            self._ims[user_id] = f"D{next(self._ids):08d}"
            channel = self.add_channel(self._ims[user_id], name="", is_im=True)
            channel["user"] = user_id
        return self.channels[self._ims[user_id]], existed

    # -- views and triggers (put_view, close_view: also used by slack_requests.py) ----------

    def put_view(
        self,
        view: JsonDict,
        *,
        view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> JsonDict:
        """Store `view` as Slack would: ids, a new hash, empty state, generated block_ids."""
        view_id = view_id or f"V{next(self._ids):08d}"
        old = self.views.get(view_id, {})
        previous = self.views.get(previous_view_id or "", {})
        self.view_errors.pop(view_id, None)
        stored: JsonDict = {
            "private_metadata": "",
            "callback_id": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            "blocks": with_block_ids(view.get("blocks", [])),
            "id": view_id,
            "team_id": self.team_id,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
            "root_view_id": old.get("root_view_id") or previous.get("root_view_id") or view_id,
            "previous_view_id": old.get("previous_view_id", previous_view_id),
            "app_id": self.app_id,
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        self.views[view_id] = stored
        return stored

    def close_view(self, view_id: str, *, clear: bool = False) -> None:
        """Drop a modal (with ``clear``: its whole stack), as when the user closes it."""
        root = self.views.get(view_id, {}).get("root_view_id")
        for vid, view in list(self.views.items()):
            if vid == view_id or (clear and view.get("root_view_id") == root):
                del self.views[vid]
                self.view_errors.pop(vid, None)

    def _use_trigger(self, trigger_id: str) -> None:
        issued = self._triggers.get(trigger_id)
        if issued is None:
            raise SlackError("invalid_trigger_id")
        if trigger_id in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - issued > self.trigger_ttl:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(trigger_id)

    def _find_view(self, params: JsonDict) -> JsonDict:
        if params.get("view_id"):
            view = self.views.get(params["view_id"])
        else:
            ext = params.get("external_id")
            view = next((v for v in self.views.values() if v.get("external_id") == ext), None)
        if view is None:
            raise SlackError("not_found")
        if params.get("hash") and params["hash"] != view["hash"]:
            raise SlackError("hash_conflict")
        return view
