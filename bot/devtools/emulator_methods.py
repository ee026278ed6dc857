"""A workspace as the emulator serves it: its state (bot/devtools/emulator_workspace.py) and the
Web API methods answered on it, as Slack answers them, for a call with its bot token.

Each handler takes the call's arguments (already checked for the required ones) and returns
the answer's fields beside ``"ok": true``, or raises SlackError for Slack's error answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.devtools.emulator_calls import JsonDict, SlackError, with_block_ids
from bot.devtools.emulator_files import FileStore
from bot.devtools.emulator_workspace import WorkspaceState


class Workspace(WorkspaceState):
    def __init__(self, *, files: FileStore | None = None, **identity: Any) -> None:
        """`files`: the server's uploads (bot/devtools/emulator_files.py)."""
        super().__init__(**identity)
        self.files = files if files is not None else FileStore(lambda where, problems: None)
        self.handlers: dict[str, Callable[[JsonDict], JsonDict]] = {
            "auth.test": self._auth_test,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.users.list": self._usergroups_users_list,
            "conversations.info": self._conversations_info,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
        }

    # -- Web API methods ---------------------------------------------------------------------

    def _auth_test(self, params: JsonDict) -> JsonDict:
        return {
            "url": f"https://{self.domain}.slack.com/",
            "team": self.name,
            "user": self.users[self.bot_user_id]["name"],
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _users_info(self, params: JsonDict) -> JsonDict:
        return {"user": self._user(params["user"])}

    def _users_lookup_by_email(self, params: JsonDict) -> JsonDict:
        email = params["email"].lower()
        for user in self.users.values():  # a Slack Connect member is not found by e-mail
            if user["profile"].get("email", "").lower() == email:
                return {"user": user}
        raise SlackError("users_not_found")

    def _usergroups_users_list(self, params: JsonDict) -> JsonDict:
        if params["usergroup"] not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": self.usergroups[params["usergroup"]]}

    def _visible_channel(self, channel_id: str) -> JsonDict:
        channel = self.channels.get(channel_id)
        if channel is None or (channel["is_private"] and not channel["is_member"]):
            raise SlackError("channel_not_found")
        return channel

    def _conversations_info(self, params: JsonDict) -> JsonDict:
        return {"channel": self._visible_channel(params["channel"])}

    def _conversations_open(self, params: JsonDict) -> JsonDict:
        if params.get("channel"):
            channel, existed = self._visible_channel(params["channel"]), True
        else:
            users = [u for u in str(params["users"]).split(",") if u]
            if len(users) != 1:
                raise SlackError("not_enough_users" if not users else "too_many_users")
            channel, existed = self._open_im(users[0])
        body: JsonDict = {"channel": channel if params.get("return_im") else {"id": channel["id"]}}
        if existed:
            body |= {"no_op": True, "already_open": True}
        return body

    def _postable_channel(self, channel_id: str) -> str:
        """Where a message to `channel_id` lands (a user id means the bot's IM with that user)."""
        if channel_id in self.users or self.external_user(channel_id) is not None:
            return self._open_im(channel_id)[0]["id"]
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        if channel["is_private"] and not channel["is_member"]:
            raise SlackError("not_in_channel")
        if channel["is_archived"]:
            raise SlackError("is_archived")
        return channel_id

    @staticmethod
    def _require_content(params: JsonDict) -> None:
        if not any(params.get(k) for k in ("text", "blocks", "attachments")):
            raise SlackError("no_text")

    @staticmethod
    def _message_fields(params: JsonDict) -> JsonDict:
        blocks = params.get("blocks")
        return {
            "text": params.get("text", ""),
            "blocks": with_block_ids(blocks) if isinstance(blocks, list) else blocks,
            "thread_ts": params.get("thread_ts"),
            "metadata": params.get("metadata"),
        }

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ids)}.000100"

    def _find_message(self, params: JsonDict) -> JsonDict:
        message = self._posted.get((params["channel"], params["ts"]))
        if message is None or message.get("deleted"):
            raise SlackError("message_not_found")
        return message

    def _chat_post_message(self, params: JsonDict) -> JsonDict:
        channel = self._postable_channel(params["channel"])
        self._require_content(params)
        message = {"channel": channel, "ts": self._next_ts()} | self._message_fields(params)
        self.messages.append(message)
        self._posted[channel, message["ts"]] = message
        shown = {k: v for k, v in message.items() if v is not None and k != "channel"}
        return {
            "channel": channel,
            "ts": message["ts"],
            "message": {"type": "message", "user": self.bot_user_id, "bot_id": self.bot_id} | shown,
        }

    def _chat_post_ephemeral(self, params: JsonDict) -> JsonDict:
        channel = self._postable_channel(params["channel"])
        self._user(params["user"])
        self._require_content(params)
        message = {"channel": channel, "user": params["user"], "ts": self._next_ts()}
        self.ephemerals.append(message | self._message_fields(params))
        return {"message_ts": message["ts"]}

    def _chat_update(self, params: JsonDict) -> JsonDict:
        message = self._find_message(params)
        self._require_content(params)
        fields = self._message_fields(params)
        message |= {k: fields[k] for k in ("text", "blocks", "metadata") if k in params}
        message["edited"] = True
        return {"channel": message["channel"], "ts": message["ts"], "text": message["text"]}

    def _chat_delete(self, params: JsonDict) -> JsonDict:
        self._find_message(params)["deleted"] = True
        return {"channel": params["channel"], "ts": params["ts"]}

    def _views_open(self, params: JsonDict) -> JsonDict:
        self._use_trigger(params["trigger_id"])
        return {"view": self.put_view(params["view"])}

    def _views_push(self, params: JsonDict) -> JsonDict:
        self._use_trigger(params["trigger_id"])
        return {"view": self.put_view(params["view"])}

    def _views_update(self, params: JsonDict) -> JsonDict:
        current = self._find_view(params)
        return {"view": self.put_view(params["view"], view_id=current["id"])}

    def _views_publish(self, params: JsonDict) -> JsonDict:
        user_id = params["user_id"]
        self._user(user_id)
        current = self.home_views.get(user_id)
        if current and params.get("hash") and params["hash"] != current["hash"]:
            raise SlackError("hash_conflict")
        stored = self.put_view(params["view"], view_id=current["id"] if current else None)
        self.home_views[user_id] = stored
        return {"view": stored}

    def _files_get_upload_url_external(self, params: JsonDict) -> JsonDict:
        return self.files.get_upload_url(self.team_id, params)

    def _files_complete_upload_external(self, params: JsonDict) -> JsonDict:
        """Shared in `channel_id`, a channel (a user's IM among them) the bot can post in."""
        channel_id = params.get("channel_id")
        if channel_id and channel_id not in self.channels:
            raise SlackError("channel_not_found")
        channel = self._postable_channel(channel_id) if channel_id else None
        return self.files.complete(self.team_id, params, channel)
