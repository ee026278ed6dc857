"""Property-based tests (hypothesis) of the pure parts: the wizard's validators, the code
issuer and the embedded node's redeemer, and the Block Kit builders.

- Validators never raise on any text; what they accept keeps the documented limits and is
  returned as given (stripped).
- Codes carry at least 128 random bits, hash deterministically, never reach a log line, and
  the local node redeems one once, only for its partner, and nothing else, without side
  effects.
- Every view and message the builders make passes Slack's validation (tests/specs.py plus
  the limits slack_sdk doesn't check), and no user text can ping (`<!channel>`, `<@U…>`).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from bot import security
from bot.backend.base import CodeRejected, ConnectionSpec, Project, parse_projects
from bot.backend.local import LocalNode
from bot.clock import FakeClock
from bot.commands.operations import FILTERS
from bot.commands.views import build_cancel_question, build_list, build_status
from bot.edge import as_json
from bot.home.views import STATES, Row, build_home_view
from bot.invitations import messages as m
from bot.invitations.views import build_accept_view, build_decline_view, metadata_id
from bot.security import CODE_PREFIX, hash_code, mask, new_code, remember_secret
from bot.settings import normalize_database_url
from bot.slack.blocks import build_message_view
from bot.slack.payloads import clean_command_text, read_state
from bot.slack.text import check_text
from bot.wizard import rules as wizard
from bot.wizard.metadata import WizardMetadata
from bot.wizard.review import build_result_view
from bot.wizard.rules import Step
from bot.wizard.steps import build_review_view, build_step_view
from bot.wizard.views import build_project_options
from storage.db import create_engine, migrate, session_factory
from storage.models import AuditEvent, LocalNodeConnection
from tests.property_kit import (
    BUILDERS,
    FAST,
    NOW,
    SHORT_NAME_CHARS,
    SLOW,
    SQLITE_INT_MAX,
    URLSAFE,
    answers,
    any_text,
    assert_message_ok,
    assert_view_ok,
    channel_ids,
    connection_names,
    free_text,
    has_cc,
    hostile_any,
    ids,
    limit_problems,
    long_runs,
    mixed,
    projects,
    short_names,
    urls,
    user_ids,
)


@FAST
@given(value=st.one_of(any_text, mixed, long_runs, st.none(), st.integers(), st.lists(any_text)))
def test_check_short_name(value: Any) -> None:
    text, error = wizard.check_short_name(value, what="short name")
    assert isinstance(text, str) and (error is None or error.strip())
    if error is None:
        assert text == str(value).strip()
        assert 1 <= len(text) <= wizard.SHORT_NAME_MAX
        assert set(text) <= SHORT_NAME_CHARS


@FAST
@given(value=st.one_of(any_text, mixed, connection_names, st.none(), st.integers()))
def test_check_connection_name(value: Any) -> None:
    text, error = wizard.check_connection_name(value)
    assert isinstance(text, str) and (error is None or error.strip())
    if error is None:
        assert text == str(value).strip()
        assert 1 <= len(text) <= wizard.CONNECTION_NAME_MAX
        assert set(text) <= SHORT_NAME_CHARS


@FAST
@given(value=st.one_of(any_text, mixed, long_runs, st.none()), limit=st.sampled_from([255, 1000]))
@example(value="next line\x85 and CSI\x9b[31m", limit=1000)  # C1 control characters
def test_check_text(value: Any, limit: int) -> None:
    text, error = check_text(value, limit=limit)
    assert isinstance(text, str) and (error is None or error.strip())
    if error is None:
        assert text == ("" if value is None else str(value).strip())
        assert len(text) <= limit
        assert not has_cc(text, allowed="\n\t"), repr(text)


@FAST
@given(value=st.one_of(any_text, mixed, urls(), st.none()))
def test_check_url(value: Any) -> None:
    text, error = wizard.check_url(value)
    assert isinstance(text, str) and (error is None or error.strip())
    if error is None:
        assert text == str(value).strip()
        assert len(text) <= wizard.URL_MAX
        assert text.startswith(("http://", "https://"))
        assert " " not in text and not has_cc(text), repr(text)


@FAST
@given(value=st.one_of(any_text, mixed, st.emails(), st.none()))
def test_check_email(value: Any) -> None:
    text, error = wizard.check_email(value)
    assert isinstance(text, str) and (error is None or error.strip())
    if error is None:
        typed = "" if value is None else str(value).strip()
        # email-validator's normalized form: the same mailbox (the domain lower-cased, an
        # IDNA domain in its Unicode form)
        local = text.rpartition("@")[0]
        assert local == unicodedata.normalize("NFC", typed.rpartition("@")[0])
        assert wizard.check_email(text) == (text, None)  # normalized once and for all
        assert len(text) <= 254
        if text:
            assert text.count("@") == 1 and not has_cc(text), repr(text)
            assert not any(ch.isspace() for ch in text)


@FAST
@given(
    value=st.one_of(
        any_text,
        mixed,
        st.builds(new_code),
        st.from_regex(r"[A-Za-z0-9+/=_.:-]{16,200}", fullmatch=True),
        st.none(),
    )
)
def test_check_pasted_code(value: Any) -> None:
    code, error = wizard.check_pasted_code(value)
    assert isinstance(code, str) and (error is None or error.strip())
    if error is None:
        assert code == "".join(str(value).split())
        assert 16 <= len(code) <= 4096
        assert re.fullmatch(r"[A-Za-z0-9+/=_.:-]+", code)


STEP_KEYS = [
    "destination",
    "destination_url",
    "local_short_name",
    "remote_short_name",
    "connection_name",
    "description",
    "partner_user_id",
    "partner_email",
    "notice_channel",
    "note",
]
values_dicts = st.dictionaries(
    st.sampled_from(STEP_KEYS),
    st.one_of(hostile_any, st.none(), st.sampled_from(["public", "private"]), st.integers()),
)


@FAST
@given(values=values_dicts)
def test_validate_destination(values: dict[str, Any]) -> None:
    update, errors = wizard.validate_destination(values)
    assert all(isinstance(e, str) and e.strip() for e in errors.values())
    if not errors:
        assert update["destination"] in ("public", "private")
        if update["destination"] == "public":
            assert wizard.check_url(update["destination_url"]) == (update["destination_url"], None)
            assert update["destination_url"] == str(values["destination_url"]).strip()


@FAST
@given(values=values_dicts)
def test_validate_info(values: dict[str, Any]) -> None:
    update, errors = wizard.validate_info(values)
    assert set(errors) <= {
        "local_short_name",
        "remote_short_name",
        "connection_name",
        "description",
    }
    assert all(isinstance(e, str) and e.strip() for e in errors.values())
    if not errors:
        assert wizard.check_short_name(update["local_short_name"], what="x")[1] is None
        assert wizard.check_short_name(update["remote_short_name"], what="x")[1] is None
        assert wizard.check_connection_name(update["connection_name"])[1] is None
        assert check_text(update["description"])[1] is None
        typed = values.get("connection_name")
        typed = "" if typed is None else str(typed).strip()
        expected = typed or f"{update['local_short_name']}_to_{update['remote_short_name']}"
        assert update["connection_name"] == expected


@FAST
@given(values=values_dicts)
def test_validate_partner(values: dict[str, Any]) -> None:
    update, errors = wizard.validate_partner(values)
    assert set(errors) <= {"partner_user_id", "partner_email", "note"}
    assert all(isinstance(e, str) and e.strip() for e in errors.values())
    if not errors:
        assert update["partner_user_id"] or update["partner_email"]
        assert check_text(update["note"])[1] is None
        assert wizard.check_email(update["partner_email"] or "")[1] is None
        note = values.get("note")
        assert update["note"] == ("" if note is None else str(note).strip())


@FAST
@given(text=st.one_of(any_text, mixed, long_runs))
def test_clean_command_text(text: str) -> None:
    cleaned = clean_command_text(text)
    assert len(cleaned) <= 500 and not re.search(r"[\x00-\x1f\x7f]", cleaned)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


@FAST
@given(values=json_values)
@example(values="x")
@example(values=[1, 2])
def test_read_state_never_raises(values: Any) -> None:
    """`view.state.values` as it comes in a (signed, but forged) payload."""
    read_state(values)


surrogate_text = st.text(alphabet=st.characters(categories=["Cs", "Ll", "So"]), max_size=20)


@FAST
@given(
    typed=st.dictionaries(
        st.sampled_from(["description", "note", "code", "reason", "partner_project"]),
        surrogate_text,
    )
)
@example(typed={"note": "half an emoji \ud83d"})
def test_read_state_gives_storable_text(typed: dict[str, str]) -> None:
    """A lone surrogate (half an emoji, cut by a client) is valid JSON; what read_state hands
    the validators and the database must encode as UTF-8."""
    values = {
        key: {key: {"type": "plain_text_input", "value": value}} for key, value in typed.items()
    }
    for answer in read_state(values).values():
        assert isinstance(answer, str)
        answer.encode("utf-8")


@FAST
@given(metadata=st.one_of(any_text, json_values.map(json.dumps)))
@example(metadata='{"invitation": 99999999999999999999999}')
@example(metadata='{"invitation": true}')
def test_view_metadata_never_raises(metadata: str) -> None:
    """private_metadata as it comes back: a step name, or an id that fits the database."""
    view = {"private_metadata": metadata}
    decoded = WizardMetadata.of_view(view)
    assert decoded is None or isinstance(decoded.step, str)
    value = metadata_id(view, "invitation")
    assert value is None or (type(value) is int and 0 <= value <= SQLITE_INT_MAX), value


# === 2. codes: issued, hashed, masked, redeemed ============================================


def test_new_codes_are_distinct_and_carry_128_random_bits() -> None:
    codes = {new_code() for _ in range(20_000)}
    assert len(codes) == 20_000
    for code in list(codes)[:2000]:
        assert code.startswith(CODE_PREFIX)
        body = code[len(CODE_PREFIX) :]
        assert set(body) <= URLSAFE
        assert len(body) * math.log2(len(URLSAFE)) >= 128
    alphabet = {ch for code in codes for ch in code[len(CODE_PREFIX) :]}
    assert len(alphabet) >= 60  # all of base64url is in use: no bits lost to a small alphabet


@FAST
@given(a=st.one_of(any_text, st.builds(new_code)), b=st.one_of(any_text, st.builds(new_code)))
def test_hash_code_is_deterministic_and_tells_codes_apart(a: str, b: str) -> None:
    assert hash_code(a) == hash_code(a)
    assert re.fullmatch(r"[0-9a-f]{64}", hash_code(a))
    if a.strip() != b.strip():
        assert hash_code(a) != hash_code(b)


@FAST
@given(before=hostile_any, after=hostile_any, code=st.builds(new_code))
def test_mask_removes_every_issued_code(before: str, after: str, code: str) -> None:
    masked = mask(f"{before}{code}{after}")
    assert code not in masked
    assert code[len(CODE_PREFIX) :] not in masked


@FAST
@given(
    before=hostile_any,
    after=hostile_any,
    code=st.from_regex(r"[A-Za-z0-9+/=_.:-]{16,80}", fullmatch=True),
)
def test_mask_removes_a_remembered_pasted_code(before: str, after: str, code: str) -> None:
    remembered = list(security._remembered)  # process-wide: leave it as other tests knew it
    try:
        remember_secret(code)
        assert code not in mask(f"{before}{code}{after}")
    finally:
        security._remembered.clear()
        security._remembered.extend(remembered)


class NodeOnDisk:
    """The embedded node on a real SQLite file, driven from sync hypothesis tests."""

    def __init__(self, path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.engine = create_engine(normalize_database_url(f"sqlite:///{path}"))
        self.run(migrate(self.engine))
        self.sessions = session_factory(self.engine)
        self.node = LocalNode(
            sessions=self.sessions,
            instance="acme",
            projects=[Project("SUP", "Support")],
            clock=FakeClock(NOW),
        )

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def initiate(self, partner: str = "UPARTNER") -> tuple[str, str]:
        spec = ConnectionSpec(
            team_id="T0001",
            name=f"c_{uuid.uuid4().hex[:8]}",
            destination="private",
            destination_url=None,
            mode="script",
            local_short_name="acme",
            remote_short_name="partnerco",
            description="",
            project_key="SUP",
            partner_user_id=partner,
            partner_team_id="T0001",
        )
        initiated = self.run(self.node.initiate(spec))
        return initiated.backend_id, initiated.code

    def rows(self) -> list[dict[str, Any]]:
        async def read() -> list[dict[str, Any]]:
            async with self.sessions() as session:
                from sqlmodel import select

                found = await session.exec(select(LocalNodeConnection))
                return sorted((r.model_dump() for r in found), key=lambda r: r["id"])

        return self.run(read())

    def redeem(self, backend_id: str, code: str, partner: str) -> str | None:
        """None when redeemed, else the rejection's reason."""
        try:
            self.run(self.node.redeem(backend_id, code, partner_user_id=partner))
        except CodeRejected as rejected:
            return rejected.reason
        return None

    def close(self) -> None:
        self.run(self.engine.dispose())
        self.loop.close()


@pytest.fixture(scope="module")
def disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeOnDisk]:
    node = NodeOnDisk(tmp_path_factory.mktemp("node") / "node.db")
    yield node
    node.close()


@SLOW
@given(attempt=st.one_of(any_text, mixed, st.builds(new_code)))
def test_local_node_rejects_any_other_string_without_side_effects(
    disk: NodeOnDisk, attempt: str
) -> None:
    backend_id, code = disk.initiate()
    assume(attempt.strip() != code)
    before = disk.rows()
    assert disk.redeem(backend_id, attempt, "UPARTNER") == "unknown"
    assert disk.rows() == before


@st.composite
def near_misses(draw: st.DrawFn, code: str) -> str:
    i = draw(st.integers(0, len(code) - 1))
    how = draw(st.sampled_from(["replace", "drop", "insert", "swapcase", "cut", "nul", "zwsp"]))
    if how == "replace":
        ch = draw(st.sampled_from(sorted(URLSAFE - {code[i]})))
        return code[:i] + ch + code[i + 1 :]
    if how == "drop":
        return code[:i] + code[i + 1 :]
    if how == "insert":
        return code[:i] + draw(st.sampled_from(sorted(URLSAFE))) + code[i:]
    if how == "swapcase":
        return code.swapcase()
    if how == "cut":
        return code[: max(i, 1)]
    if how == "nul":
        return code + "\x00"
    return code[:i] + "\u200b" + code[i:]


@SLOW
@given(data=st.data())
def test_local_node_rejects_near_misses(disk: NodeOnDisk, data: st.DataObject) -> None:
    backend_id, code = disk.initiate()
    attempt = data.draw(near_misses(code))
    assume(attempt.strip() != code)
    before = disk.rows()
    assert disk.redeem(backend_id, attempt, "UPARTNER") == "unknown"
    assert disk.rows() == before


@SLOW
@given(
    backend_id=st.one_of(any_text, st.just("")),
    partner=st.one_of(user_ids, any_text),
)
def test_local_node_with_an_unknown_connection(
    disk: NodeOnDisk, backend_id: str, partner: str
) -> None:
    _, code = disk.initiate()
    before = disk.rows()
    assume(backend_id not in {r["id"] for r in before})
    assert disk.redeem(backend_id, code, partner) == "unknown"
    assert disk.rows() == before


@SLOW
@given(partner=user_ids, other=st.one_of(user_ids, any_text))
def test_local_node_redeems_once_only_for_its_partner(
    disk: NodeOnDisk, partner: str, other: str
) -> None:
    assume(other != partner)
    backend_id, code = disk.initiate(partner)
    before = disk.rows()
    assert disk.redeem(backend_id, code, other) == "other_partner"
    assert disk.rows() == before
    assert disk.redeem(backend_id, f"  {code}\n", partner) is None  # pasted with whitespace
    [record] = [r for r in disk.rows() if r["id"] == backend_id]
    assert (record["status"], record["code_state"]) == ("ACTIVE", "REDEEMED")
    after = disk.rows()
    assert disk.redeem(backend_id, code, partner) == "used"
    assert disk.redeem(backend_id, code, other) in ("used", "other_partner")
    assert disk.rows() == after


@SLOW
@given(revoke=st.booleans())
def test_local_node_old_codes_stop_working(disk: NodeOnDisk, revoke: bool) -> None:
    backend_id, old = disk.initiate()
    if revoke:
        disk.run(disk.node.revoke(backend_id))
        assert disk.redeem(backend_id, old, "UPARTNER") == "revoked"
        return
    fresh = disk.run(disk.node.reissue(backend_id)).code
    assert fresh != old
    assert disk.redeem(backend_id, old, "UPARTNER") == "unknown"
    assert disk.redeem(backend_id, fresh, "UPARTNER") is None


# === 3. the Block Kit builders =============================================================


@BUILDERS
@given(
    step=st.sampled_from(list(Step)),
    answers=answers,
    local=short_names,
    listed=projects(),
    more=st.sampled_from([0, 0, 150]),
    channel=st.one_of(st.none(), channel_ids),
)
def test_step_views(
    step: Step,
    answers: dict[str, Any],
    local: str,
    listed: list[Project],
    more: int,
    channel: str | None,
) -> None:
    view = build_step_view(
        step,
        answers,
        local_instance=local,
        projects=listed,
        total_projects=len(listed) + more,
        default_channel=channel,
    )
    assert_view_ok(view)


@BUILDERS
@given(
    answers=answers,
    error=st.one_of(st.none(), hostile_any),
    console=st.one_of(st.none(), st.just("https://node.example.com")),
)
@example(
    answers={
        "destination": "public",
        "mode": "script",
        "destination_url": "https://partnerco.example.com/<!channel>",
    },
    error=None,
    console=None,
)
@example(
    answers={
        "destination": "public",
        "mode": "script",
        "destination_url": "https://partnerco.example.com/" + "&" * 1960,
    },
    error=None,
    console=None,
)
def test_review_view(answers: dict[str, Any], error: str | None, console: str | None) -> None:
    assert_view_ok(build_review_view(answers, error=error, console_url=console))


@BUILDERS
@given(answers=answers, partner=user_ids, name=connection_names)
def test_result_view(answers: dict[str, Any], partner: str, name: str) -> None:
    answers = answers | {"partner_user_id": partner, "connection_name": name}
    assert_view_ok(build_result_view(answers, code=new_code()))


@BUILDERS
@given(
    invitation=ids,
    name=st.one_of(connection_names, hostile_any),
    title=st.text(min_size=1, max_size=40).filter(lambda t: t.replace("\x00", "").strip()),
    text=st.text(max_size=100),
)
def test_partner_and_message_views(invitation: int, name: str, title: str, text: str) -> None:
    assert_view_ok(build_accept_view(invitation_id=invitation))
    assert_view_ok(build_decline_view(invitation_id=invitation, connection_name=name))
    assert_view_ok(build_message_view(title, text.strip() or "x"))


@BUILDERS
@given(listed=projects())
def test_project_options(listed: list[Project]) -> None:
    options = build_project_options(listed)
    problems: list[str] = []
    limit_problems({"type": "static_select", **options}, "options", problems)
    assert not problems, problems[:3]


@BUILDERS
@given(text=st.text(alphabet=st.characters(exclude_characters=",="), min_size=1, max_size=255))
@example(text="K" * 200)
@example(text="\x00")  # found by hypothesis: a control character made an empty option text
def test_projects_from_settings_fit_in_a_select(text: str) -> None:
    """EXALATE_LOCAL_PROJECTS takes keys and names up to 255 characters: whatever it accepts
    must still make a valid project picker (option values are limited to 150)."""
    try:
        listed = parse_projects(f"{text}={text}")
    except ValueError:
        return
    view = build_step_view(
        Step.PROJECT,
        {"destination": "private", "mode": "script"},
        local_instance="acme",
        projects=listed,
        total_projects=len(listed),
    )
    assert_view_ok(view)


@BUILDERS
@given(
    initiator=user_ids,
    name=st.one_of(connection_names, hostile_any.map(lambda t: t[:100])),
    local=short_names,
    remote=short_names,
    mode=st.sampled_from(["basic", "visual", "script"]),
    invitation=ids,
    note=free_text,
    accept_here=st.booleans(),
)
def test_invitation_and_reminder_dms(
    initiator: str,
    name: str,
    local: str,
    remote: str,
    mode: str,
    invitation: int,
    note: str,
    accept_here: bool,
) -> None:
    dm = m.build_invitation_dm(
        initiator=f"<@{initiator}>",
        connection_name=name,
        local_short_name=local,
        remote_short_name=remote,
        mode=mode,
        code=new_code(),
        invitation_id=invitation,
        note=note,
        accept_here=accept_here,
    )
    assert_message_ok(dm)
    reminder = m.build_reminder_dm(
        initiator=f"<@{initiator}>",
        connection_name=name,
        waited="3 days",
        number=2,
        of=5,
        invitation_id=invitation,
        accept_here=accept_here,
    )
    assert_message_ok(reminder)


NOTICES: list[Callable[[str, str, str, str, int], dict[str, Any]]] = [
    lambda n, t, p, a, i: m.notice_sent(partner=p, name=n, by=a),
    lambda n, t, p, a, i: m.notice_sent(partner=p, name=n, by=a, resent=True),
    lambda n, t, p, a, i: m.notice_reminded(partner=p, name=n, number=1, of=5),
    lambda n, t, p, a, i: m.notice_escalated(partner=p, count=5, admin=a),
    lambda n, t, p, a, i: m.notice_expired(partner=p, name=n, age="14 days"),
    lambda n, t, p, a, i: m.notice_active(partner=p, name=n, after="2 days"),
    lambda n, t, p, a, i: m.notice_declined(partner=p, name=n),
    lambda n, t, p, a, i: m.notice_cancelled(admin=a, name=n),
    lambda n, t, p, a, i: m.notice_deactivated(name=n),
    lambda n, t, p, a, i: m.notice_removed(name=n),
    lambda n, t, p, a, i: m.dm_node_change(name=n, what="was deactivated"),
    lambda n, t, p, a, i: m.dm_escalation(
        partner=p, name=n, count=5, age="5 days", connection_id=i, invitation_id=i + 1
    ),
    lambda n, t, p, a, i: m.dm_expired_partner(name=n, age="14 days", admin=a),
    lambda n, t, p, a, i: m.dm_expired_admin(
        name=n, age="14 days", partner=p, connection_id=i, invitation_id=i + 1
    ),
    lambda n, t, p, a, i: m.dm_active(name=n, partner=p, after="2 days", project=t or None),
    lambda n, t, p, a, i: m.dm_declined(partner=p, name=n, reason=t),
    lambda n, t, p, a, i: m.dm_withdrawn(admin=a, name=n),
    lambda n, t, p, a, i: build_cancel_question(connection_id=i, name=n),
]


@BUILDERS
@given(
    build=st.sampled_from(NOTICES),
    name=st.one_of(connection_names, hostile_any.map(lambda t: t[:100])),
    text=free_text,
    partner=user_ids,
    admin=user_ids,
    number=ids,
)
def test_notices_and_direct_messages(
    build: Callable[..., dict[str, Any]],
    name: str,
    text: str,
    partner: str,
    admin: str,
    number: int,
) -> None:
    assert_message_ok(build(name, text, partner, admin, number))


@st.composite
def rows_of(draw: st.DrawFn, status: str | None = None, max_size: int = 10) -> list[Row]:
    count = draw(st.integers(0, max_size))
    made = []
    for n in range(count):
        created = NOW - timedelta(minutes=draw(st.integers(0, 60 * 24 * 400)))
        made.append(
            Row(
                id=n + 1,
                name=draw(st.one_of(connection_names, hostile_any.map(lambda t: t[:100]))),
                status=status or draw(st.sampled_from(STATES)),
                partner=draw(user_ids),
                initiator=draw(user_ids),
                created_at=created,
                reminders_sent=draw(st.integers(0, 10)),
                next_reminder_at=draw(st.one_of(st.none(), st.just(NOW + timedelta(days=1)))),
                activated_at=draw(st.one_of(st.none(), st.just(created))),
                invitation_id=n + 1 if status == "PENDING" else None,
            )
        )
    return made


@BUILDERS
@given(
    is_admin=st.booleans(),
    in_flight=rows_of("PENDING", max_size=15),
    recent=rows_of("ACTIVE", max_size=5),
    waiting=rows_of("PENDING", max_size=10),
    more=st.integers(0, 10**6),
    accept_here=st.booleans(),
    banner=st.one_of(st.none(), st.just(":bell: Reminder sent.")),
)
def test_home_view(
    is_admin: bool,
    in_flight: list[Row],
    recent: list[Row],
    waiting: list[Row],
    more: int,
    accept_here: bool,
    banner: str | None,
) -> None:
    view = build_home_view(
        now=NOW,
        is_admin=is_admin,
        admins="<@UADMIN>, <!subteam^S0ADMINS>",
        reminder_max=5,
        accept_here=accept_here,
        counts={state: 3 for state in STATES},
        in_flight=in_flight,
        more_in_flight=more,
        recent=recent,
        waiting=waiting,
        banner=banner,
    )
    assert_view_ok(view)


@BUILDERS
@given(
    listed=rows_of(),
    extra=st.integers(0, 10**6),
    which=st.sampled_from(sorted(FILTERS)),
    offset=st.integers(0, 10**6),
)
def test_list_reply(listed: list[Row], extra: int, which: str, offset: int) -> None:
    reply = build_list(
        rows=listed,
        total=offset + len(listed) + extra,
        which=which,
        offset=offset,
        now=NOW,
        reminder_max=5,
    )
    assert_message_ok(reply)


@BUILDERS
@given(
    row=rows_of().filter(bool).map(lambda r: r[0]),
    mode=st.sampled_from(["basic", "visual", "script"]),
    project=free_text.map(lambda t: t[:255]),
    trail=st.lists(
        st.tuples(
            st.one_of(free_text, hostile_any.map(lambda t: t[:2000])),
            st.one_of(user_ids, st.sampled_from(["system", "node"])),
        ),
        max_size=25,
    ),
)
@example(
    row=Row(
        id=1,
        name="<!channel>",
        status="PENDING",
        partner="UPARTNER1",
        initiator="UADMIN001",
        created_at=NOW,
    ),
    mode="script",
    project="Support (SUP)",
    trail=[],
)
def test_status_reply(row: Row, mode: str, project: str, trail: list[tuple[str, str]]) -> None:
    events = [
        AuditEvent(
            team_id="T0001",
            connection_id=row.id,
            actor=actor,
            action="declined",
            from_state="PENDING",
            to_state="DECLINED",
            detail=detail,
            at=NOW,
        )
        for detail, actor in trail
    ]
    reply = build_status(
        row=row, mode=mode, project=project, events=events, now=NOW, reminder_max=5
    )
    assert_message_ok(reply)


# --- the request body, decoded once for Bolt (bot.edge.as_json) ---------------------------------

FORM = "application/x-www-form-urlencoded"
form_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60)
# what a form body may hold, escapes and separators included, well formed or not
form_soup = st.lists(
    st.one_of(form_text, st.sampled_from(["=", "&", ";", "+", "%", "%2", "%zz", "%C3%A9", "%FF"])),
    max_size=30,
).map("".join)


@given(fields=st.dictionaries(form_text, form_text, max_size=12))
def test_a_command_form_reaches_bolt_as_its_fields(fields: dict[str, str]) -> None:
    assume("payload" not in fields)
    body = urlencode(fields)
    assume(not body.startswith("{"))
    assert json.loads(as_json(body, FORM)) == fields


@given(body=form_soup)
@example(body="text=status+payload&command=%2Fexalate")
@example(body="a=1;b=2&a=3&=x&y")
def test_any_form_decodes_as_urllib_would(body: str) -> None:
    assume(not body.startswith("{"))
    expected = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in expected:
        return  # below
    assert json.loads(as_json(body, FORM)) == expected


@given(payload=st.dictionaries(form_text, st.one_of(form_text, st.integers())), extra=form_text)
def test_an_interaction_reaches_bolt_as_its_payload(payload: dict[str, Any], extra: str) -> None:
    text = json.dumps(payload)
    assert as_json(urlencode({"payload": text, "x": extra}), FORM) == text
    assert as_json(text, "application/json") == text  # events come as JSON already


@pytest.mark.parametrize("payload", ["not json", "", "[]", "null", '"x"'])
def test_a_payload_that_is_not_a_json_object_is_refused(payload: str) -> None:
    with pytest.raises(ValueError):
        as_json(urlencode({"payload": payload}), FORM)
