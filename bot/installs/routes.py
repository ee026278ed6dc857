"""GET /slack/install and GET /slack/oauth_redirect: Bolt's OAuth flow over aiohttp.

Bolt's aiohttp adapter marks the state cookie Secure whatever the scheme; a browser then
doesn't send it back to an http:// bot (a local try, the tests), and the install fails on
"state not found". Here the cookie is Secure exactly when the bot's URL is https."""

from __future__ import annotations

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.installs.oauth import INSTALL_PATH, REDIRECT_PATH

OAUTH_APP = web.AppKey("oauth_bolt", AsyncApp)
SECURE_COOKIES = web.AppKey("secure_cookies", bool)


def add_oauth_routes(web_app: web.Application, *, bolt: AsyncApp, secure_cookies: bool) -> None:
    web_app[OAUTH_APP] = bolt
    web_app[SECURE_COOKIES] = secure_cookies
    web_app.router.add_get(INSTALL_PATH, _install)
    web_app.router.add_get(REDIRECT_PATH, _redirect)


async def _install(request: web.Request) -> web.StreamResponse:
    flow = request.app[OAUTH_APP].oauth_flow
    assert flow is not None
    answer = await flow.handle_installation(_bolt_request(request))
    return _response(answer, secure=request.app[SECURE_COOKIES])


async def _redirect(request: web.Request) -> web.StreamResponse:
    flow = request.app[OAUTH_APP].oauth_flow
    assert flow is not None
    answer = await flow.handle_callback(_bolt_request(request))
    return _response(answer, secure=request.app[SECURE_COOKIES])


def _bolt_request(request: web.Request) -> AsyncBoltRequest:
    # a GET: what matters is the query and the cookie header, no body
    return AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))


def _response(answer: BoltResponse, *, secure: bool) -> web.Response:
    content_type = answer.headers.pop("content-type", ["text/html"])[0].split(";")[0]
    response = web.Response(
        status=answer.status,
        body=answer.body,
        headers=answer.first_headers_without_set_cookie(),
        content_type=content_type,
    )
    for cookie in answer.cookies():
        for name, morsel in cookie.items():
            response.set_cookie(
                name,
                morsel.value,
                max_age=morsel.get("max-age") or None,
                path=morsel.get("path") or "/",
                secure=secure,
                httponly=True,
                samesite="Lax",
            )
    return response
