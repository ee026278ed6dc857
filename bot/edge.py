"""POST /slack/events, the aiohttp edge in front of Bolt: the size, then Slack's signature on
the raw bytes, then one strict decoding, and only then Bolt.

What it refuses, each with one warning line that says what and why (never the body, a
header's value, a code or a token):

- 413: a `Content-Length` over MAX_BODY, before a byte of the body is read (or, with
  `Expect: 100-continue`, before the client sends it); a chunked body, read in pieces,
  as soon as it passes MAX_BODY;
- 401: a missing or garbled `X-Slack-Signature` / `X-Slack-Request-Timestamp`, a timestamp
  more than five minutes away, a signature that isn't Slack's for these very bytes, whatever
  the body, its `Content-Type` or its charset: nothing is decoded before the check (and a
  compressed body, which Slack never sends, isn't even read);
- 400: a signed body that isn't UTF-8, a form or JSON that doesn't decode, a payload that
  isn't a JSON object or lacks the shape Bolt's matchers index into; a body cut short (the
  client went away) or whose chunked framing is broken.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import Any

from aiohttp import hdrs, web
from aiohttp.http import HttpVersion11
from aiohttp.http_exceptions import HttpProcessingError
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from yarl import URL

from bot.services import Services

log = logging.getLogger(__name__)

SERVICES_KEY = web.AppKey("services", Services)
BOLT_KEY = web.AppKey("bolt", AsyncApp)
SIGNING_KEY = web.AppKey("signing_secret", bytes)

# The largest request Slack sends this app is a view_submission of a full modal. Its view:
# at most 100 blocks of at most 3,000 characters of text each (300,000); the state of its
# inputs, which are among those 100 blocks, at most 3,000 characters each (300,000); each
# block's block_id and action_id, up to 255 characters each, in the view and again in the
# state (102,000); private_metadata (3,000), callback_id and external_id (255 each), title,
# submit and close (24 each): about 706,000 characters. Slack sends JSON, in a form field
# (`payload=`, percent-encoded) for interactions: letters and digits travel as one byte,
# JSON's quotes, colons, commas and braces and the spaces as three; at those limits, with
# the text in ASCII, that is about 1.2 MB (a third of the bytes punctuation, more than
# blocks of prose carry). 2 MiB leaves room for text that isn't ASCII in the fields the
# person types (this bot's modals have at most four inputs: 4 x 3,000 characters x 9 bytes,
# a CJK character percent-encoded, is 108 KB) and for the bot's own non-ASCII texts; its
# views themselves are 1-2 KB of JSON. Bolt's (aiohttp's) default was 1 MiB, which a full
# modal of ASCII text could just pass.
MAX_BODY = 2 * 1024 * 1024
# After a refusal (413) aiohttp reads and drops what the client still sends for this long
# before it closes the connection (its default, 10 s, lets a client that declared a huge
# Content-Length and went quiet hold a connection that long)
LINGER_SECONDS = 1.0
NOT_AN_OBJECT = "the payload is not a JSON object"
STALE_SECONDS = 5 * 60  # Slack's own rule for X-Slack-Request-Timestamp
# the request kinds the ack metric is labelled with; anything else is "other", so that a
# signed but odd `type` can't grow the metric's label set
KINDS = frozenset(
    {
        "block_actions",
        "block_suggestion",
        "command",
        "event_callback",
        "message_action",
        "shortcut",
        "url_verification",
        "view_closed",
        "view_submission",
    }
)


class _MalformedHttp(logging.Filter):
    """aiohttp answers a request it can't parse as HTTP (a header twice, a bad chunk line)
    with 400 itself, and drops what a client still sends after a refusal: either can meet a
    body it can't decode (a broken gzip stream), which it logs with a traceback. One warning
    line instead, naming the kind of error only (its message may quote what was sent)."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError | web.RequestPayloadError):
            cause = error.__cause__
            kind = type(error).__name__ + (f" ({type(cause).__name__})" if cause else "")
            record.msg, record.args = "refused a malformed HTTP request: %s", (kind,)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("aiohttp.server").addFilter(_MalformedHttp())


def add_routes(web_app: web.Application, *, signing_secret: str) -> None:
    web_app[SIGNING_KEY] = signing_secret.encode()
    web_app.router.add_post("/slack/events", slack_events, expect_handler=expect_body)


async def expect_body(request: web.Request) -> web.StreamResponse | None:
    """`Expect: 100-continue`: a body over the limit is refused before the client sends it;
    otherwise aiohttp's own answer (100 Continue, or 417 for an expectation it doesn't know)."""
    if _over_limit(request):
        return _too_large(f"Content-Length {request.content_length} is over the limit")
    expect = request.headers.get(hdrs.EXPECT, "")
    if request.version == HttpVersion11:
        if expect.lower() != "100-continue":
            _refused(417, "an Expect header other than 100-continue")
            return web.Response(status=417)
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # the response itself has not started
    return None


async def slack_events(request: web.Request) -> web.StreamResponse:
    started = time.perf_counter()
    if _over_limit(request):
        return _too_large(f"Content-Length {request.content_length} is over the limit")
    if request.headers.get(hdrs.CONTENT_ENCODING, "identity").lower() != "identity":
        # Slack doesn't compress; aiohttp would decompress the body before it reached us,
        # and Slack's signature covers the bytes as sent: it can't be checked, so it fails
        _refused(401, "a Content-Encoding, which Slack doesn't send")
        return web.json_response({"error": "invalid request"}, status=401)
    try:
        raw = await read_capped(request, MAX_BODY)
    except (ConnectionError, web.RequestPayloadError, HttpProcessingError) as exc:
        # the client went away mid-body, or its framing or compression is broken
        return _malformed(f"the body could not be read ({type(exc).__name__})")
    if raw is None:
        return _too_large("a chunked body passed the limit")
    refusal = signature_refusal(
        request.app[SIGNING_KEY],
        raw,
        timestamp=request.headers.get("X-Slack-Request-Timestamp"),
        signature=request.headers.get("X-Slack-Signature"),
        now=time.time(),
    )
    if refusal is not None:
        _refused(401, refusal)
        return web.json_response({"error": "invalid request"}, status=401)
    return await _signed(request, raw, started)


async def _signed(request: web.Request, raw: bytes, started: float) -> web.StreamResponse:
    """A request Slack signed: decoded once, strictly, then Bolt."""
    try:
        # Slack sends UTF-8 and nothing else; a declared charset is ignored rather than
        # looked up (a charset that doesn't exist would raise LookupError, a legacy one
        # would decode the bytes into something Slack didn't send)
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _malformed(f"the body is not UTF-8 (at byte {exc.start})")
    del raw
    content_type = request.headers.get(hdrs.CONTENT_TYPE, "").partition(";")[0].strip().lower()
    try:
        bolt_request = AsyncBoltRequest(
            body=as_json(text, content_type),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
    except ValueError as exc:  # JSON that doesn't parse, a payload that isn't an object
        return _malformed(_why(exc))
    except Exception as exc:  # Bolt's reading of it failed (a list where it wants a dict)
        return _malformed(f"Bolt could not read it ({type(exc).__name__})")
    body = bolt_request.body
    if not well_formed(body):
        return _malformed("not the shape Slack sends")
    try:
        bolt_response = await request.app[BOLT_KEY].async_dispatch(bolt_request)
    except Exception as exc:  # Bolt could not make sense of it
        return _malformed(f"Bolt could not dispatch it ({type(exc).__name__})")
    kind = body.get("type") or ("command" if body.get("command") else "other")
    request.app[SERVICES_KEY].metrics.ack_seconds.labels(
        kind=kind if isinstance(kind, str) and kind in KINDS else "other"
    ).observe(time.perf_counter() - started)
    return await to_aiohttp_response(bolt_response)


def _over_limit(request: web.Request) -> bool:
    # aiohttp's parser has already refused a Content-Length that isn't a number (400)
    length = request.content_length
    return length is not None and length > MAX_BODY


async def read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, read in the pieces the socket gives (aiohttp keeps at most ~128 KiB of a
    body it hasn't been asked for), or None as soon as it passes `limit`: what was read is
    dropped at once, and no exception raised. aiohttp's own `read()` raises one past its
    limit, whose traceback holds the megabyte read so far in a reference cycle; the bot's
    seldom-run collector (bot.__main__.GC_THRESHOLDS) left them resident: 1.4 MB kept per
    oversized post (bench/README.md, "oversized")."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.readany():
        size += len(chunk)
        if size > limit:
            chunks.clear()
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def signature_refusal(
    secret: bytes, raw: bytes, *, timestamp: str | None, signature: str | None, now: float
) -> str | None:
    """Why a request is not Slack's, or None: HMAC-SHA256 of `v0:{timestamp}:{body}` with
    the signing secret, on the bytes as they came. (slack_sdk's SignatureVerifier decodes
    the body as UTF-8 first, and raises on one that isn't.)"""
    if not timestamp or not signature:
        return "no X-Slack-Signature or X-Slack-Request-Timestamp"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "an X-Slack-Request-Timestamp that isn't a time"
    if abs(now - int(timestamp)) > STALE_SECONDS:
        return "an X-Slack-Request-Timestamp more than five minutes away"
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
    expected = b"v0=" + digest.hexdigest().encode()
    # aiohttp gives header values decoded with surrogateescape: any of them encodes back
    if not hmac.compare_digest(expected, signature.encode("utf-8", "surrogateescape")):
        return "a signature that isn't Slack's for this body"
    return None


def as_json(body: str, content_type: str) -> str:
    """A signed request's body as JSON text, for Bolt (which reads a body that starts with `{`
    as JSON). Slack posts interactions as a form whose `payload` field is the JSON, and slash
    commands as a plain form: decoded here once, by yarl's compiled form decoder, where Bolt's
    `urllib.parse` (pure Python) took a fifth of the CPU of every answer. The same fields and
    values as `urllib.parse.parse_qsl(keep_blank_values=True)`; ValueError for a payload that
    is not a JSON object."""
    if content_type == "application/json" or body.startswith("{"):
        return body
    # a field given twice keeps its last value, as in Bolt's dict(parse_qsl(...))
    fields = dict(URL.build(query_string=body, encoded=True).query.items())
    payload = fields.get("payload")
    if payload is None:
        return json.dumps(fields)
    if not payload.startswith("{"):
        raise ValueError(NOT_AN_OBJECT)
    return payload


def well_formed(body: Any) -> bool:
    """The parts Bolt's matchers index into have the shape Slack gives them."""
    if not isinstance(body, dict):
        return False
    kind = body.get("type")
    if kind == "block_actions":
        actions = body.get("actions")
        return isinstance(actions, list) and all(isinstance(a, dict) for a in actions)
    if kind == "event_callback":
        return isinstance(body.get("event"), dict)
    if kind in ("view_submission", "view_closed", "block_suggestion"):
        return isinstance(body.get("view", {}), dict) and isinstance(body.get("user"), dict)
    return True


def _why(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"JSON that doesn't parse ({exc.msg})"
    if exc.args == (NOT_AN_OBJECT,):
        return NOT_AN_OBJECT
    return f"the body doesn't decode ({type(exc).__name__})"


def _refused(status: int, why: str) -> None:
    log.warning("refused a request to /slack/events (%d): %s", status, why)


def _malformed(why: str) -> web.Response:
    _refused(400, why)
    return web.json_response({"error": "malformed request"}, status=400)


def _too_large(why: str) -> web.Response:
    _refused(413, f"{why} of {MAX_BODY} bytes")
    response = web.json_response({"error": "request too large"}, status=413)
    # Connection: close. aiohttp reads what the client still sends of the body, and drops
    # it piece by piece, for a few seconds at most, so that the client can read this answer
    response.force_close()
    return response
