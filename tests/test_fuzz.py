"""The fuzz: thousands of requests built with hypothesis (tests/fuzz_strategies.py) from
Slack's payload shapes, the bot's real ids and the views and messages the running bot made,
mutated, then sent signed, unsigned or forged through the real HTTP app (`POST
/slack/events` on a loopback port, its Web API calls going to the Slack emulator).

For every request:
- no 5xx, and no traceback in the log (a handler on the root logger: any record with
  exc_info fails the run, the first few listed);
- an unsigned or forged one (no signature, a wrong secret, a stale, future or malformed
  timestamp, a body changed after signing) is answered 401 (413 allowed for one over the
  size limit), and makes the bot call Slack for nothing;
- the bot answers within Slack's 3 s, and every Web API call it makes passes the emulator's
  checks of Slack's rules (a view Slack would reject fails the run);
- no log line carries what a person typed (a canary in the texts), the invitation code or
  the signing secret.
Afterwards `/healthz` answers 200 and the wizard still works (`/exalate connect`, a step,
Back).

Deterministic: a fixed seed (FUZZ_SEED overrides it) and a count (FUZZ_REQUESTS, default
2,000), both printed (`-s`) and recorded as properties. FUZZ_REPORT=path writes the distinct
failures as JSON.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import os
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import hypothesis
import pytest
from hypothesis import HealthCheck, Phase, given, settings

from bot.invitations.ids import InvitationIds
from bot.invitations.messages import admin_actions
from storage.models import Connection, Invitation
from tests.conftest import LogWatch, SeenRecord
from tests.fuzz_strategies import (
    CANARY,
    DEAD_HOOK,
    RESPONSE_URL,
    TRIGGER,
    USED_TRIGGER,
    Bases,
    FuzzRequest,
    render,
    requests,
)
from tests.harness import SIGNING_SECRET, WIZARD, Admin, RunningBot, World, db_rows, eventually
from tests.slack_emulator import SlackEmulator

SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
COUNT = int(os.environ.get("FUZZ_REQUESTS", "2000"))
# 2,000 requests through the real HTTP app, with the listeners' work after each ack, take
# 30-60 s on 2 cores (half of it drawing them); the project's 60 s default would cut a slow
# run short. A bigger FUZZ_REQUESTS gets more time.
TIMEOUT = max(240, COUNT // 8)
ACK_SECONDS = 3.0  # Slack gives up on an answer after this
BATCH = 250  # requests drawn at a time (a run holds no more than these in memory)
SETTLE_SECONDS = 2.0  # the longest wait for a listener's work after its ack
# what the fuzz itself causes in the emulator's records, not the bot: its dead response_urls
FUZZ_MADE = ("response_url: POST to unknown response_url",)
ROOT = str(Path(__file__).resolve().parent.parent)
# a request the bot made that the emulator's HTTP parser refused (an over-long URL…)
EMULATOR_PARSER = ("when reading: bytearray(b'/api/", "when reading: bytearray(b'/response/")
EMULATOR_FRAMES = ("bot/devtools/emulator_", "bot/devtools/slack_emulator.py")


@pytest.fixture
def bot_settings() -> dict[str, Any]:
    return {"exalate_notify_channel": "CNOTICE"}


# --- the requests ---------------------------------------------------------------------------


def draw_requests(
    bases: Bases, count: int, seed: int, batch: int, seen: set[str] | None = None
) -> list[FuzzRequest]:
    """`count` requests of batch number `batch`, drawn by hypothesis from `requests(bases)`
    with `seed`: the same seed, the same requests. Hypothesis only generates here (no
    shrinking: the run judges every request itself, and lists the failures). A request met
    before (in `seen`, fingerprints) is drawn again."""
    seen = set() if seen is None else seen
    drawn: list[FuzzRequest] = []
    for attempt in range(20):  # hypothesis may stop short of max_examples; draw on
        if len(drawn) >= count:
            break

        @hypothesis.seed(f"{seed}:{batch}:{attempt}")  # a str: random.Random takes it
        @settings(
            max_examples=count - len(drawn) + 10,  # the first: the simplest, met before
            database=None,
            deadline=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(requests(bases))
        def collect(request: FuzzRequest) -> None:
            if len(drawn) < count and (mark := fingerprint(request)) not in seen:
                seen.add(mark)
                drawn.append(request)

        with _fresh_examples_only():
            collect()
    return drawn[:count]


def fingerprint(request: FuzzRequest) -> str:
    payload = json.dumps(request.payload, default=str, sort_keys=True)
    text = f"{request.describe()}\n{payload}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(text).hexdigest()


@contextmanager
def _fresh_examples_only() -> Iterator[None]:
    """Hypothesis follows each fresh example with up to five copies of it, one part copied
    over another (a help for finding a bug and shrinking it; here, where every request is
    judged anyway, it made half the run copies: 286 different requests in 500). Off while
    drawing, where the engine has it (an internal of hypothesis: without it, the run only
    draws longer)."""
    try:
        from hypothesis.internal.conjecture.engine import ConjectureRunner
    except ImportError:  # pragma: no cover - another hypothesis
        yield
        return
    if not hasattr(ConjectureRunner, "generate_mutations_from"):  # pragma: no cover
        yield
        return
    with mock.patch.object(ConjectureRunner, "generate_mutations_from", lambda *_: None):
        yield


# --- what the running bot made: the fuzz's starting points -------------------------------


# the wizard's pages for its harvested views: a name not taken by the first connection
PAGES = (
    {"destination": "private"},
    {"mode": "script"},
    {"remote_short_name": "fuzzco"},
    {"project_key": "SUP"},
    {"partner_user_id": "UPARTNER", "notice_channel": "CNOTICE"},
)


async def harvest(world: World) -> Bases:
    """A connection with its invitation, the partner's DM, the partner's modals, the admin's
    Home tab and a wizard view at every step, as the running bot made them."""
    slack = world.slack
    code = await world.initiate(*WIZARD)
    [connection] = await db_rows(world.bot, Connection)
    [invitation] = await db_rows(world.bot, Invitation)
    assert connection.id is not None and invitation.id is not None
    dm = world.dms("UPARTNER")[-1]
    admin = Admin(world.bot, slack)
    wizard_views = []
    for k in range(len(PAGES) + 1):
        view_id = await admin.connect()
        await admin.walk(view_id, *PAGES[:k])
        wizard_views.append(copy.deepcopy(slack.views[view_id]))
    await world.click(InvitationIds.ACCEPT, dm, "UPARTNER")
    accept_view = copy.deepcopy(slack.calls_to("views.open")[-1].response["view"])
    await world.click(InvitationIds.DECLINE, dm, "UPARTNER")
    decline_view = copy.deepcopy(slack.calls_to("views.open")[-1].response["view"])
    home = {"type": "app_home_opened", "user": "UADMIN", "channel": "D0HOME", "tab": "home"}
    assert world.sender is not None
    await world.sender.event(home)
    home_view = copy.deepcopy(await eventually(lambda: slack.home_views.get("UADMIN")))
    admin_message = {
        "ts": "1700000000.000100",
        "channel": "D0ADMIN",
        "text": "Resend or cancel",
        "blocks": [admin_actions(connection.id, invitation_id=invitation.id)],
    }
    return Bases(
        team_id=world.sender.team_id,
        connection_id=connection.id,
        invitation_id=invitation.id,
        code=code,
        wizard_views=tuple(wizard_views),
        accept_view=accept_view,
        decline_view=decline_view,
        home_view=home_view,
        dm_message=copy.deepcopy(dm),
        admin_message=admin_message,
        answers={
            "destination": ("private", "public"),
            "destination_url": ("https://jira.partner.example", "http://[::1", ""),
            "mode": ("script", "basic", "visual"),
            "local_short_name": ("acme",),
            "remote_short_name": ("fuzzco", "partnerco", "fuzz2"),
            "connection_name": ("", "acme_to_fuzz3"),
            "description": ("", "Support escalations"),
            "project_key": ("SUP", "DEV", "NOPE"),
            "partner_user_id": ("UPARTNER", "UOTHER", "UROBOT", "UGONE", "UADMIN"),
            "partner_email": ("pat@partnerco.com", "nobody@example.com"),
            "notice_channel": ("CNOTICE", "CPRIVATE", "CARCHIVED"),
            "note": ("Welcome!", f"{CANARY} note"),
            "code": ("EXA1-not-the-code", "EXA1-not-the-code", code),
            "partner_project": ("SUPPORT",),
            "reason": ("", "not me"),
        },
    )


# --- sending -------------------------------------------------------------------------------


def _signature(secret: str, timestamp: str, body: bytes) -> str:
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_as(req: FuzzRequest, body: bytes, now: int) -> tuple[bytes, dict[str, str]]:
    """The body as sent and its signature headers, signed or forged as `req.signing` says."""
    how, _, detail = req.signing.partition(":")
    if how == "unsigned":
        return body, {}
    timestamp, secret = str(now), SIGNING_SECRET
    if how == "stale":
        timestamp = str(now - 600)
    elif how == "future":
        timestamp = str(now + 600)
    elif how == "bad_timestamp":
        timestamp = detail
    elif how == "wrong_secret":
        secret = "not-the-signing-secret"
    signature = _signature(secret, timestamp, body)
    if how == "no_v0":
        signature = signature.removeprefix("v0=")
    elif how == "empty_signature":
        signature = ""
    elif how == "tampered":
        body = body + (b" " if req.encoding == "json" else b"&x=1")
    return body, {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}


async def _chunks(body: bytes) -> Any:
    for start in range(0, max(len(body), 1), 64 * 1024):
        yield body[start : start + 64 * 1024]


@dataclass
class Outcome:
    index: int
    request: FuzzRequest
    status: int | None = None
    text: str = ""
    elapsed: float = 0.0
    error: str | None = None  # the client's exception, when there was no answer
    records: list[SeenRecord] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    slack_calls: int = 0


@dataclass(frozen=True)
class Failure:
    category: str
    outcome: Outcome
    detail: str

    def key(self) -> tuple[str, str, str]:
        return (self.category, str(self.outcome.status), _shape(self.detail))

    @property
    def kind(self) -> str:
        return ":".join(self.outcome.request.kind.split(":")[:2])


FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def origin(traceback: str) -> str:
    """Where a traceback comes from: its innermost frame in the project, and the innermost
    of all when that is elsewhere (a library's)."""
    frames = FRAME.findall(traceback)
    if not frames:
        return "?"

    def short(frame: tuple[str, str, str]) -> str:
        path, line, function = frame
        path = path.split("site-packages/", 1)[-1] if "site-packages/" in path else path
        path = path.split(f"{ROOT}/", 1)[-1]
        return f"{path}:{line} {function}"

    ours = [f for f in frames if f[0].startswith(ROOT) and "/.venv/" not in f[0]]
    shown = [short(ours[-1])] if ours else []
    if not ours or ours[-1] != frames[-1]:
        shown.append(short(frames[-1]))
    return " -> ".join(shown)


def _shape(line: str) -> str:
    """A log line or problem with its numbers and ids blurred, to group alike failures."""
    return re.sub(r"\d+", "N", line)[:200]


class Fuzzer:
    def __init__(self, bot: RunningBot, slack: SlackEmulator, watch: LogWatch) -> None:
        self.bot, self.slack, self.watch = bot, slack, watch
        self.url = f"{bot.url}/slack/events"
        self.last_trigger = slack.issue_trigger_id()
        self.hook_base = slack.response_url().rsplit("/", 1)[0]

    def fills(self) -> dict[str, str]:
        used, self.last_trigger = self.last_trigger, self.slack.issue_trigger_id()
        return {
            TRIGGER: self.last_trigger,
            USED_TRIGGER: used,
            RESPONSE_URL: self.slack.response_url(),
            DEAD_HOOK: f"{self.hook_base}/999999999",
        }

    async def send(self, session: aiohttp.ClientSession, index: int, req: FuzzRequest) -> Outcome:
        outcome = Outcome(index=index, request=req)
        seen, problems, calls = (
            len(self.watch.seen),
            len(self.slack.problems),
            len(self.slack.calls),
        )
        self.watch.tag = index
        body, headers = signed_as(req, render(req, self.fills()), int(time.time()))
        skip: tuple[str, ...] = ()
        if req.content_type is None:
            skip = ("Content-Type",)
        else:
            headers["Content-Type"] = req.content_type
        started = time.perf_counter()
        try:
            async with session.post(
                self.url,
                data=_chunks(body) if req.chunked else body,
                headers=headers,
                skip_auto_headers=skip,
            ) as response:
                outcome.status = response.status
                outcome.text = (await response.read()).decode("utf-8", "replace")[:2000]
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcome.error = type(exc).__name__
        outcome.elapsed = time.perf_counter() - started
        await self.settle()
        outcome.records = self.watch.seen[seen:]
        outcome.problems = self.slack.problems[problems:]
        outcome.slack_calls = len(self.slack.calls) - calls
        return outcome

    async def settle(self) -> None:
        """Let the listeners' work after the ack finish (so what it logs is this request's)."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            pending = {t for t in self.bot.services.inflight if not t.done()}
            if not pending:
                return
            await asyncio.wait(pending, timeout=deadline - time.monotonic())


def judge(outcome: Outcome, secrets: tuple[str, ...]) -> list[Failure]:
    req, status, failures = outcome.request, outcome.status, []

    def fail(category: str, detail: str) -> None:
        failures.append(Failure(category, outcome, detail))

    crashed = status is not None and status >= 500
    if crashed:  # with its traceback, if it logged one
        first = next((r for r in outcome.records if r.error), None) or next(
            iter(outcome.records), None
        )
        fail("5xx", f"{first} at {origin(first.text)}" if first else outcome.text[:200])
    if "Traceback (most recent call last)" in outcome.text:
        fail("traceback in the answer", outcome.text[:200])
    for record in outcome.records:
        if record.error is not None and any(f in record.text for f in EMULATOR_PARSER):
            # the emulator's HTTP server refused what the bot sent it (Slack would too)
            fail(
                "a Web API call Slack would reject",
                f"{record}: {record.text.splitlines()[-1][:160]}",
            )
        elif record.error is not None and any(f in record.text for f in EMULATOR_FRAMES):
            fail("the emulator crashed (not the bot)", f"{record} at {origin(record.text)}")
        elif record.error is not None and not crashed:
            fail("traceback", f"{record} at {origin(record.text)}")
        if any(secret in record.text for secret in secrets):
            fail("log carries a body, code or secret", str(record))
    if not req.signed:
        refused = status == 401 or (req.oversize and (status == 413 or outcome.error))
        if not refused:
            fail("unsigned or forged, not 401", f"{req.signing} answered {status}")
        if outcome.slack_calls:
            fail("unsigned or forged, acted on", f"{outcome.slack_calls} Slack call(s)")
    if outcome.error is not None and not req.oversize:
        fail("no answer", outcome.error)
    if outcome.elapsed > ACK_SECONDS:
        fail("slow answer", f"{outcome.elapsed:.1f}s")
    for problem in outcome.problems:
        if not problem.startswith(FUZZ_MADE):
            fail("a Web API call Slack would reject", problem[:300])
    return failures


def summary(failures: list[Failure], limit: int = 40) -> tuple[str, list[dict[str, Any]]]:
    """The distinct failures (alike ones grouped: the same category, status and log line or
    origin), with a count, the kinds of request that met it, and a first example each."""
    groups: dict[tuple[str, str, str], list[Failure]] = {}
    for failure in failures:
        groups.setdefault(failure.key(), []).append(failure)
    rows = []
    for (category, status, _), members in sorted(
        groups.items(), key=lambda item: (item[0][0], -len(item[1]))
    ):
        first = members[0]
        kinds = Counter(m.kind for m in members).most_common()
        rows.append(
            {
                "category": category,
                "status": status,
                "path": "/slack/events",
                "count": len(members),
                "log_line": first.detail,
                "kinds": ", ".join(f"{k} x{n}" for k, n in kinds),
                "example": f"#{first.outcome.index} {first.outcome.request.describe()}",
                "traceback_tail": next(
                    (r.text.strip().splitlines()[-6:] for r in first.outcome.records if r.error),
                    [],
                ),
            }
        )
    lines = [
        f"{r['count']:>5} x {r['category']} (status {r['status']}): {r['log_line']}\n"
        f"        in {r['kinds'][:300]}\n        e.g. {r['example'][:300]}"
        for r in rows[:limit]
    ]
    if len(rows) > limit:
        lines.append(f"… and {len(rows) - limit} more kinds")
    return "\n".join(lines), rows


async def wizard_still_works(bot: RunningBot, slack: SlackEmulator) -> str | None:
    """`/exalate connect`, a step, Back: None when it all works, else what didn't."""
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{bot.url}/healthz") as r:
            if r.status != 200:
                return f"/healthz answered {r.status}"
        admin = Admin(bot, slack)
        view_id = await admin.connect()
        await admin.walk(view_id, {"destination": "private"})
        if admin.step(view_id) != "mode":
            return f"the first step led to {admin.step(view_id)!r}"
        if (step := await admin.back(view_id)) != "destination":
            return f"Back led to {step!r}"
    except (AssertionError, LookupError, KeyError, aiohttp.ClientError) as exc:
        return f"{type(exc).__name__}: {str(exc)[:300]}"
    return None


# --- the test --------------------------------------------------------------------------------


@pytest.mark.timeout(TIMEOUT)
async def test_nothing_a_stranger_or_a_malformed_payload_sends_breaks_the_bot(
    bot: RunningBot,
    slack: SlackEmulator,
    world: World,
    log_watch: LogWatch,
    record_property: Any,
) -> None:
    started = time.monotonic()
    bases = await harvest(world)
    slack.reset()  # the harvest's records; the workspace and its views stay
    log_watch.seen.clear()
    print(f"\nfuzz: seed {SEED} (FUZZ_SEED), {COUNT} requests (FUZZ_REQUESTS)", flush=True)
    record_property("fuzz_seed", SEED)

    fuzzer = Fuzzer(bot, slack, log_watch)
    secrets = (CANARY, bases.code, SIGNING_SECRET)
    failures: list[Failure] = []
    statuses: Counter[Any] = Counter()
    elapsed: list[float] = []
    sent = signed = 0
    report_path = os.environ.get("FUZZ_REPORT")
    log: list[dict[str, Any]] = []  # every request and what came of it, for FUZZ_REPORT
    drawing = 0.0
    seen: set[str] = set()  # every request sent is a different one
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for batch in range(-(-COUNT // BATCH)):
            drawn_at = time.monotonic()
            fuzz = draw_requests(bases, min(BATCH, COUNT - sent), SEED, batch, seen)
            drawing += time.monotonic() - drawn_at
            for req in fuzz:
                outcome = await fuzzer.send(session, sent, req)
                sent += 1
                signed += req.signed
                statuses[outcome.status or outcome.error] += 1
                elapsed.append(outcome.elapsed)
                failures += judge(outcome, secrets)
                if report_path:
                    log.append(
                        {
                            "index": outcome.index,
                            "request": req.describe()[:400],
                            "status": outcome.status or outcome.error,
                            "log": [
                                f"{r} at {origin(r.text)}" if r.error else str(r)
                                for r in outcome.records
                            ],
                            "slack_calls": [c.method for c in slack.calls[-outcome.slack_calls :]]
                            if outcome.slack_calls
                            else [],
                        }
                    )
    record_property("fuzz_requests", sent)
    log_watch.tag = "after"
    broken = await wizard_still_works(bot, slack)
    problems, slack.problems = slack.problems, []  # judged above, request by request
    leftover = [p for p in problems if not p.startswith(FUZZ_MADE)]

    elapsed.sort()
    text, rows = summary(failures)
    report = (
        f"fuzz: seed {SEED}, {sent} requests ({signed} signed, {sent - signed} unsigned or "
        f"forged) in {time.monotonic() - started:.0f}s (drawing them {drawing:.0f}s); "
        f"answers {dict(sorted(statuses.items(), key=str))}; answered in p50 "
        f"{elapsed[len(elapsed) // 2] * 1000:.0f} ms, p99 "
        f"{elapsed[int(len(elapsed) * 0.99)] * 1000:.0f} ms, max {elapsed[-1]:.2f} s; "
        f"{len(failures)} failures of {len(rows)} kinds"
    )
    print(report, flush=True)
    if text:
        print(text, flush=True)
    record_property("fuzz_failures", len(failures))
    if report_path:
        found = {"report": report, "failures": rows, "wizard": broken, "requests": log}
        Path(report_path).write_text(json.dumps(found, indent=1), encoding="utf-8")

    assert sent >= COUNT, f"only {sent} of {COUNT} requests drawn"
    assert broken is None, f"after the fuzz the wizard broke: {broken} ({report})"
    assert not failures, f"{report}\n{text}"
    assert not leftover, f"Web API calls Slack would reject: {leftover[:5]}"


# --- the fuzz's own checks (no bot) ----------------------------------------------------------


def _plain_bases() -> Bases:
    """Bases without a running bot: enough for the strategies to draw from."""
    from bot.invitations.views import build_accept_view, build_decline_view

    metadata = {"step": "destination", "team": "T0001", "user": "UADMIN", "answers": {}}
    wizard = {
        "id": "V1",
        "type": "modal",
        "callback_id": "exalate_wizard",
        "external_id": "0" * 32,
        "private_metadata": json.dumps(metadata),
        "blocks": [
            {
                "type": "input",
                "block_id": "destination",
                "element": {
                    "type": "radio_buttons",
                    "action_id": "destination",
                    "options": [{"text": {"type": "plain_text", "text": "x"}, "value": "private"}],
                },
            }
        ],
    }
    message = {"ts": "1.0", "channel": "D1", "text": "hi", "blocks": []}
    return Bases(
        team_id="T0001",
        connection_id=1,
        invitation_id=1,
        code="EXA1-" + "c" * 43,
        wizard_views=(wizard,),
        accept_view={"id": "V2"} | build_accept_view(invitation_id=1),
        decline_view={"id": "V3"} | build_decline_view(invitation_id=1, connection_name="a_to_b"),
        home_view={"id": "V4", "type": "home", "blocks": []},
        dm_message=message,
        admin_message=message,
        answers={"destination": ("private",)},
    )


def test_the_same_seed_draws_the_same_requests() -> None:
    bases = _plain_bases()
    first = [r.describe() for r in draw_requests(bases, 60, SEED, 0)]
    again = [r.describe() for r in draw_requests(bases, 60, SEED, 0)]
    other = [r.describe() for r in draw_requests(bases, 60, SEED + 1, 0)]
    assert len(first) == 60
    assert first == again
    assert first != other


def test_what_the_fuzz_forges_fails_slacks_own_check_and_what_it_signs_passes() -> None:
    """The fuzz's 401 expectations stand on this: its forgeries are forgeries."""
    from slack_sdk.signature import SignatureVerifier

    from tests.fuzz_strategies import SIGNINGS

    verifier = SignatureVerifier(SIGNING_SECRET)
    for signing in sorted(set(SIGNINGS)):
        req = FuzzRequest(
            kind="t", payload={}, encoding="form_payload", signing=signing, content_type=None
        )
        sent, headers = signed_as(req, b"payload=%7B%7D", int(time.time()))
        try:
            valid = bool(headers) and verifier.is_valid(
                body=sent.decode(),
                timestamp=headers["X-Slack-Request-Timestamp"],
                signature=headers["X-Slack-Signature"],
            )
        except (ValueError, TypeError):  # a timestamp that is no number
            valid = False
        assert valid == (signing == "signed"), signing
