"""The emulated app's OAuth v2, as Slack runs it: the authorize page (who clicks Allow, in which
workspace) hands the app a one-use code at its redirect_uri, and ``oauth.v2.access`` exchanges
the code, with the app's client id and secret, for the workspace's bot token.

The authorize page takes two emulator-only arguments beside Slack's (client_id, scope,
user_scope, state, redirect_uri): ``team`` (the workspace installing) and ``user`` (who
clicks; a member there), and ``deny=1`` for a click on Cancel.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from bot.devtools.emulator_calls import JsonDict, SlackError
from bot.devtools.emulator_methods import Workspace


@dataclass
class Authorization:
    """One visit to the authorize page: what the app asked for and who answered."""

    client_id: str
    scopes: list[str]
    user_scopes: list[str]
    state: str | None
    redirect_uri: str | None  # as the app sent it (None: the app's configured one)
    team_id: str | None
    user_id: str | None
    denied: bool = False
    error: str | None = None  # why the page refused (answered 400), if it did
    code: str | None = None  # issued on Allow


@dataclass
class Grant:
    """What a code stands for until oauth.v2.access exchanges it."""

    team_id: str
    user_id: str
    scopes: list[str]
    redirect_uri: str | None  # the authorize request's, which oauth.v2.access must repeat
    used: bool = False


def _names(value: str | None) -> list[str]:
    return [s.strip() for s in (value or "").replace(" ", ",").split(",") if s.strip()]


class OAuthApp:
    def __init__(
        self, *, client_id: str, client_secret: str, redirect_uri: str | None = None
    ) -> None:
        """`redirect_uri`: the one configured in the app's settings, used when the authorize
        request names none."""
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self._grants: dict[str, Grant] = {}

    def authorize(
        self, query: Mapping[str, str], workspaces: Mapping[str, Workspace]
    ) -> tuple[Authorization, str]:
        """The visit's record and where Slack sends the browser (``Location``); a refused
        visit has ``error`` set and the second item is the page's text."""
        asked = Authorization(
            client_id=query.get("client_id", ""),
            scopes=_names(query.get("scope")),
            user_scopes=_names(query.get("user_scope")),
            state=query.get("state"),
            redirect_uri=query.get("redirect_uri"),
            team_id=query.get("team"),
            user_id=query.get("user"),
            denied=query.get("deny") in ("1", "true"),
        )
        redirect = asked.redirect_uri or self.redirect_uri
        workspace = workspaces.get(asked.team_id or "")
        if asked.client_id != self.client_id:
            asked.error = "Invalid client_id parameter"
        elif not redirect:
            asked.error = "No redirect_uri given, and the app has none configured"
        elif not asked.scopes and not asked.user_scopes:
            asked.error = "Invalid permissions requested: no scope or user_scope"
        elif workspace is None:
            asked.error = f"Emulator: pass team= (one of {sorted(workspaces)}), who installs"
        elif asked.user_id not in workspace.users:
            asked.error = f"Emulator: pass user= (a member of {workspace.team_id}), who clicks"
        if asked.error is not None:
            return asked, asked.error
        assert redirect is not None and asked.user_id is not None and asked.team_id is not None
        state = {"state": asked.state} if asked.state is not None else {}
        if asked.denied:
            return asked, str(URL(redirect).update_query(error="access_denied", **state))
        asked.code = f"{asked.team_id}.{secrets.token_hex(16)}"
        self._grants[asked.code] = Grant(
            asked.team_id, asked.user_id, asked.scopes, asked.redirect_uri
        )
        return asked, str(URL(redirect).update_query(code=asked.code, **state))

    def team_of(self, code: str) -> str | None:
        """The workspace a code was issued in (whether or not it is still good)."""
        grant = self._grants.get(code)
        return grant.team_id if grant is not None else None

    def exchange(self, params: JsonDict, basic_auth: tuple[str, str] | None) -> Grant:
        """The grant behind oauth.v2.access's code, used up; SlackError as Slack refuses.
        The client's credentials come as form arguments or HTTP Basic auth (slack_sdk's way)."""
        client_id, client_secret = basic_auth or (
            str(params.get("client_id") or ""),
            str(params.get("client_secret") or ""),
        )
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if client_secret != self.client_secret:
            raise SlackError("bad_client_secret")
        grant = self._grants.get(str(params.get("code") or ""))
        if grant is None or grant.used:
            raise SlackError("invalid_code")
        sent = params.get("redirect_uri") or None
        allowed = {grant.redirect_uri} if grant.redirect_uri else {None, self.redirect_uri}
        if sent not in allowed:  # the authorize request's, if it sent one
            raise SlackError("bad_redirect_uri")
        grant.used = True
        return grant
