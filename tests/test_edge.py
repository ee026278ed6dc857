"""The edge of POST /slack/events (bot/edge.py): the size first, then Slack's signature on
the raw bytes, then one strict decoding; one warning line per refused request, no traceback.

The issue's examples, each through the real HTTP server: a body that isn't UTF-8 or a
charset that doesn't exist, unsigned, is 401; a signed body with a broken UTF-8 sequence is
400 with one warning line; a Content-Length over the limit is 413 before the body is read;
a chunked body past the limit is 413 as soon as it passes it; and 1,000 oversized unsigned
posts leave the bot's resident memory within 10 MB of where it started.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest

from bench.oversized import BODY_SIZE, flood
from bench.oversized import start as start_server
from bench.process import healthy, rss_mb
from bot.devtools.slack_requests import SlackSender, command_payload
from bot.edge import LINGER_SECONDS, MAX_BODY, signature_refusal
from tests.harness import SIGNING_SECRET, TEAM, Admin, RunningBot, eventually, free_port
from tests.slack_emulator import SlackEmulator

FORM = "application/x-www-form-urlencoded"
MARKER = "BODY-MARKER-7f3a"  # in every body sent here: no log line may repeat it


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Every log record while the test runs; the test fails on any that carries a
    traceback (exc_info), and on any that repeats a body."""
    handler = _Records()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)
    tracebacks = [f"{r.name}: {r.getMessage()[:200]}" for r in handler.records if r.exc_info]
    assert not tracebacks, f"records with a traceback: {tracebacks}"
    assert not [r for r in handler.records if MARKER in r.getMessage()], "a body was logged"


def edge_lines(records: list[logging.LogRecord]) -> list[str]:
    return [r.getMessage() for r in records if r.name == "bot.edge"]


def port_of(bot: RunningBot) -> int:
    return int(bot.url.rsplit(":", 1)[1])


def command_body(slack: SlackEmulator, text: str = "help") -> bytes:
    payload = command_payload(
        text=text,
        user_id="UADMIN",
        trigger_id=slack.issue_trigger_id(),
        response_url=slack.response_url(),
        team_id=TEAM,
    )
    payload["channel_name"] = MARKER
    return urlencode(payload).encode()


def signed(raw: bytes, content_type: str = FORM, *, secret: str = SIGNING_SECRET) -> dict[str, str]:
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


async def post(bot: RunningBot, raw: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{bot.url}/slack/events", data=raw, headers=headers) as response,
    ):
        return response.status, await response.text()


async def raw_exchange(
    port: int, head: list[str], parts: Sequence[bytes] = (), *, within: float = 2.0
) -> tuple[str, float]:
    """Send a request's head and `parts` of its body over a plain socket, and read the first
    line of the answer (within `within` seconds); that line and how long it took."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    try:
        lines = ["POST /slack/events HTTP/1.1", "Host: 127.0.0.1", *head, "", ""]
        writer.write("\r\n".join(lines).encode("utf-8", "surrogateescape"))
        for part in parts:
            writer.write(part)
            with suppress(ConnectionError):
                await writer.drain()
        line = await asyncio.wait_for(reader.readline(), within)
        return line.decode("latin-1").strip(), time.monotonic() - started
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()


# --- unsigned: 401 whatever the body, Content-Type or charset -------------------------------


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        pytest.param(b"payload=\xff\xfe\xc3(" + MARKER.encode(), FORM, id="not_utf8"),
        pytest.param(b"text=" + MARKER.encode(), f"{FORM}; charset=no-such-charset", id="charset"),
        pytest.param(b"\x00\x01" + MARKER.encode(), "text/plain; charset=utf-16", id="utf16"),
        pytest.param(
            b'{"type": "' + MARKER.encode() + b'\xed\xa0\x80"}',
            "application/json",
            id="json_with_an_encoded_surrogate",
        ),
    ],
)
async def test_unsigned_is_401_whatever_the_body(
    bot: RunningBot, records: list[logging.LogRecord], raw: bytes, content_type: str
) -> None:
    forged = signed(raw, content_type, secret="not-the-secret")
    for headers in (forged, {"Content-Type": content_type}):
        status, _ = await post(bot, raw, headers)
        assert status == 401
    lines = edge_lines(records)
    assert len(lines) == 2 and all("(401)" in line for line in lines), lines
    assert "isn't Slack's" in lines[0] and "no X-Slack-Signature" in lines[1]


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "x-unknown"])
async def test_a_compressed_body_is_refused_unread(
    bot: RunningBot, slack: SlackEmulator, records: list[logging.LogRecord], encoding: str
) -> None:
    """Slack never compresses, and its signature covers the bytes as sent: 401 (or aiohttp's
    own 400 for an encoding its parser doesn't know), one warning line, no traceback."""
    raw = command_body(slack)
    compressed = gzip.compress(raw) if encoding == "gzip" else b"\x1f\x8b garbage"
    status, _ = await post(bot, compressed, {**signed(raw), "Content-Encoding": encoding})
    await asyncio.sleep(0.1)  # what aiohttp drops after the answer may not decompress
    warnings = [r for r in records if r.levelno >= logging.WARNING]
    if status == 401:
        assert "Content-Encoding" in edge_lines(records)[0]
    else:
        assert status == 400 and edge_lines(records) == []
        assert "ContentEncodingError" in warnings[0].getMessage()
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert len([r for r in warnings if r.name == "bot.edge"]) <= 1


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        pytest.param("١٧٠٠٠٠٠٠٠٠", "v0=00", id="timestamp_in_arabic_digits"),
        pytest.param("9" * 5000, "v0=00", id="timestamp_of_5000_digits"),
        pytest.param("-1", "v0=00", id="negative_timestamp"),
        pytest.param(None, "v0=\u00e9\udcff", id="signature_not_ascii"),
        pytest.param(None, "", id="empty_signature"),
    ],
)
async def test_garbled_signature_headers_are_401(
    bot: RunningBot,
    slack: SlackEmulator,
    records: list[logging.LogRecord],
    timestamp: str | None,
    signature: str,
) -> None:
    raw = command_body(slack)
    calls = len(slack.calls)
    head = [
        f"Content-Type: {FORM}",
        f"Content-Length: {len(raw)}",
        f"X-Slack-Request-Timestamp: {timestamp or int(time.time())}",
        f"X-Slack-Signature: {signature}",
    ]
    line, _ = await raw_exchange(port_of(bot), head, [raw])
    assert line.startswith("HTTP/1.1 401"), line
    assert len(edge_lines(records)) == 1
    assert len(slack.calls) == calls


def test_the_signature_is_checked_on_the_bytes_as_they_came() -> None:
    raw = b"payload=\xff" + MARKER.encode()
    headers = signed(raw)
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    check = {"timestamp": timestamp, "signature": signature, "now": time.time()}
    assert signature_refusal(SIGNING_SECRET.encode(), raw, **check) is None
    assert signature_refusal(SIGNING_SECRET.encode(), raw + b"x", **check) is not None
    stale = {**check, "now": time.time() + 301}
    assert "five minutes" in str(signature_refusal(SIGNING_SECRET.encode(), raw, **stale))


# --- signed: decoded strictly, 400 with one warning line ------------------------------------


async def test_signed_text_with_a_broken_utf8_sequence_is_400_with_one_warning_line(
    bot: RunningBot, slack: SlackEmulator, records: list[logging.LogRecord]
) -> None:
    raw = command_body(slack) + b"&note=caf\xc3\x28"
    calls = len(slack.calls)
    status, text = await post(bot, raw, signed(raw))
    assert status == 400 and MARKER not in text
    [line] = edge_lines(records)
    assert "(400)" in line and "not UTF-8" in line, line
    assert len(slack.calls) == calls


@pytest.mark.parametrize(
    ("raw", "content_type", "why"),
    [
        pytest.param(b'payload={"type": "block_', FORM, "JSON that doesn't parse", id="bad_json"),
        pytest.param(b"payload=%5B%5D", FORM, "not a JSON object", id="payload_list"),
        pytest.param(b"[1, 2]", "application/json", "Bolt could not read it", id="json_list"),
        pytest.param(b'{"type": "event_callback"}', "application/json", "shape", id="no_event"),
    ],
)
async def test_signed_but_undecodable_is_400_with_one_warning_line(
    bot: RunningBot, records: list[logging.LogRecord], raw: bytes, content_type: str, why: str
) -> None:
    status, _ = await post(bot, raw, signed(raw, content_type))
    assert status == 400
    [line] = edge_lines(records)
    assert "(400)" in line and why in line, line


@pytest.mark.parametrize("charset", ["no-such-charset", "latin-1", "utf-16"])
async def test_a_declared_charset_is_ignored_slack_sends_utf8(
    bot: RunningBot, slack: SlackEmulator, records: list[logging.LogRecord], charset: str
) -> None:
    raw = command_body(slack)
    status, text = await post(bot, raw, signed(raw, f"{FORM}; charset={charset}"))
    assert status == 200, text
    assert edge_lines(records) == []


# --- size: 413 before the body is read ------------------------------------------------------


@pytest.mark.parametrize("signed_too", [False, True])
async def test_a_content_length_over_the_limit_is_413_at_once(
    bot: RunningBot, records: list[logging.LogRecord], signed_too: bool
) -> None:
    """A Content-Length of a terabyte and ten bytes sent: the answer can only come before
    the body is read, and it comes at once."""
    headers = signed(b"x" * 10) if signed_too else {"Content-Type": FORM}
    head = [*(f"{k}: {v}" for k, v in headers.items()), f"Content-Length: {10**12}"]
    line, took = await raw_exchange(port_of(bot), head, [b"x" * 10])
    assert line.startswith("HTTP/1.1 413"), line
    assert took < 1.0
    [refused] = edge_lines(records)
    assert "(413)" in refused and f"Content-Length {10**12}" in refused, refused


async def test_expect_100_continue_over_the_limit_is_413_before_the_body_is_sent(
    bot: RunningBot, records: list[logging.LogRecord]
) -> None:
    head = [f"Content-Type: {FORM}", f"Content-Length: {MAX_BODY + 1}", "Expect: 100-continue"]
    line, took = await raw_exchange(port_of(bot), head)
    assert line.startswith("HTTP/1.1 413"), line  # no "100 Continue" first
    assert took < 1.0 and len(edge_lines(records)) == 1


async def test_the_limit_itself_is_read_and_checked(
    bot: RunningBot, records: list[logging.LogRecord]
) -> None:
    raw = b"payload=" + b"x" * (MAX_BODY - 8)
    status, _ = await post(bot, raw, {"Content-Type": FORM})
    assert status == 401  # read whole, then refused for its signature
    status, _ = await post(bot, raw + b"x", {"Content-Type": FORM})
    assert status == 413


async def test_a_chunked_body_past_the_limit_is_413_without_waiting_for_its_end(
    bot: RunningBot, records: list[logging.LogRecord]
) -> None:
    piece = b"x" * 65536
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    pieces = MAX_BODY // len(piece) + 2  # past the limit; the last chunk never comes
    head = [f"Content-Type: {FORM}", "Transfer-Encoding: chunked"]
    line, _ = await raw_exchange(port_of(bot), head, [chunk] * pieces, within=5)
    assert line.startswith("HTTP/1.1 413"), line
    [refused] = edge_lines(records)
    assert "(413)" in refused and "chunked" in refused, refused


async def test_a_signed_chunked_command_is_answered(
    bot: RunningBot, slack: SlackEmulator, records: list[logging.LogRecord]
) -> None:
    raw = command_body(slack)

    async def pieces() -> AsyncIterator[bytes]:  # aiohttp sends it chunked
        for start in range(0, len(raw), 100):
            yield raw[start : start + 100]

    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{bot.url}/slack/events", data=pieces(), headers=signed(raw)) as response,
    ):
        assert response.status == 200, await response.text()
    assert edge_lines(records) == []


async def test_a_body_cut_short_is_one_warning_line(
    bot: RunningBot, records: list[logging.LogRecord]
) -> None:
    """The client goes away mid-body: nobody to answer, one line, no traceback."""
    head = [f"Content-Type: {FORM}", "Content-Length: 1000"]
    with pytest.raises((TimeoutError, ConnectionError, ValueError)):
        await raw_exchange(port_of(bot), head, [b"x" * 10], within=0.2)
    await eventually(lambda: edge_lines(records))
    [line] = edge_lines(records)
    assert "(400)" in line and "could not be read" in line, line


async def test_a_request_aiohttp_cannot_parse_is_one_warning_line(
    bot: RunningBot, records: list[logging.LogRecord]
) -> None:
    head = [f"Content-Type: {FORM}", f"Content-Type: {MARKER}", "Content-Length: 2"]
    line, _ = await raw_exchange(port_of(bot), head, [b"{}"])
    assert line.split()[1] == "400", line
    [warning] = [r for r in records if r.name == "aiohttp.server"]
    assert warning.levelno == logging.WARNING and "BadHttpMessage" in warning.getMessage()
    assert MARKER not in warning.getMessage()


# --- memory: flat, whatever arrives ---------------------------------------------------------


@pytest.mark.timeout(180)  # 1,000 posts of 2.25 MiB to a real process: about 10-20 s
async def test_oversized_posts_leave_resident_memory_flat(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    port = free_port()
    log = tmp_path / "bot.log"
    server = start_server(
        "bot",
        port,
        slack.base_url,
        str(tmp_path),
        log=log,
        token=slack.bot_token,
        secret=SIGNING_SECRET,
    )
    sender = SlackSender(
        bot_url=f"http://127.0.0.1:{port}/slack/events",
        signing_secret=SIGNING_SECRET,
        emulator=slack,
    )
    try:
        await healthy(port)
        await asyncio.sleep(0.5)
        before = rss_mb(server.pid)
        statuses = await flood(port, 1000)
        after = rss_mb(server.pid)
        print(f"\nresident memory: {before:.1f} MB before, {after:.1f} MB after 1,000 posts")
        assert statuses == {413: 1000}, statuses
        assert after - before < 10, (before, after)
        response = await sender.command("help", user_id="UADMIN")
        assert response.status == 200  # and the bot answers as ever
    finally:
        await sender.close()
        server.terminate()
        await asyncio.to_thread(server.wait, 30)
    text = log.read_text()
    assert "Traceback" not in text
    assert text.count("(413)") == 1000
    assert BODY_SIZE > MAX_BODY


async def test_the_wizard_still_opens_after_refusals(
    bot: RunningBot, slack: SlackEmulator, records: list[logging.LogRecord]
) -> None:
    port = port_of(bot)
    await raw_exchange(port, [f"Content-Length: {10**9}"], [b"x"])
    await post(bot, b"\xff\xfe", {"Content-Type": FORM})
    raw = command_body(slack) + b"\xc3"
    await post(bot, raw, signed(raw))
    view_id = await Admin(bot, slack).connect()
    assert slack.views[view_id]["type"] == "modal"


async def test_a_refused_client_that_goes_quiet_is_let_go_within_the_linger(
    bot: RunningBot, records: list[logging.LogRecord]
) -> None:
    """A terabyte declared, a few bytes sent, then silence: after the 413 the bot reads the
    rest for LINGER_SECONDS at most and closes the connection (aiohttp's default: 10 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port_of(bot))
    started = time.monotonic()
    try:
        head = ["POST /slack/events HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {FORM}"]
        writer.write("\r\n".join([*head, f"Content-Length: {10**12}", "", ""]).encode() + b"xx")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), LINGER_SECONDS + 3)  # until closed
    finally:
        writer.close()
        with suppress(ConnectionError):
            await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < LINGER_SECONDS + 3
