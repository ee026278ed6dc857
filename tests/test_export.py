"""`/exalate export`'s parts: the days asked, formulas neutralised, a row's cells, the CSV
written page by page, and the audit trail read in keyset pages on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import FakeClock
from bot.export.csvfile import write_csv
from bot.export.rows import HEADER, cells, days_asked, iso, neutralise
from bot.security import new_code
from bot.settings import normalize_database_url
from storage import repo
from storage.db import create_engine, migrate, session_factory, transaction
from storage.repo.export import EXPORTED

WHEN = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)


def row(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "id": 1,
        "connection": "acme_to_partnerco",
        "description": "Support escalations",
        "mode": "script",
        "destination": "public",
        "destination_url": "https://jira.partner.example",
        "state": "PENDING",
        "partner_label": "",
        "partner_user_id": "UPARTNER",
        "note": None,
        "actor": "UADMIN",
        "action": "initiated",
        "at": WHEN,
        "from_state": None,
        "to_state": "PENDING",
        "detail": "invited UPARTNER",
    }
    return SimpleNamespace(**(values | overrides))


# -- pure rules --------------------------------------------------------------------------------


def test_days_default_to_90_and_must_be_a_whole_number_from_1_to_3650() -> None:
    asked = ["", "  ", "30", " 7 ", "3650", "1", "0", "3651", "-5", "+5", "30 days", "3.5"]
    assert [days_asked(a) for a in asked] == [
        90,
        90,
        30,
        7,
        3650,
        1,
        None,
        None,
        None,
        None,
        None,
        None,
    ]
    assert days_asked("３０") is None  # full-width digits: isdigit, but not what we ask
    assert days_asked("9" * 400) is None


def test_a_cell_a_spreadsheet_would_read_as_a_formula_gets_an_apostrophe() -> None:
    cells_in = ["=1+1", "+1", "-2", "@SUM(A1)", "\t=1", "\r=1", '=HYPERLINK("x")']
    assert [neutralise(c) for c in cells_in] == [
        "'=1+1",
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\t=1",
        "'\r=1",
        '\'=HYPERLINK("x")',
    ]
    for safe in ("", "acme", "1+1", " =1", "a=b", "'=1", "2026-03-02T09:00:05Z", "UADMIN"):
        assert neutralise(safe) == safe


def test_a_rows_cells_in_the_headers_order() -> None:
    assert cells(row()) == [
        "acme_to_partnerco",
        "Support escalations",
        "script",
        "public",
        "https://jira.partner.example",
        "PENDING",
        "UPARTNER",
        "",
        "UADMIN",
        "initiated",
        "2026-03-02T09:00:05Z",
        "",
        "PENDING",
        "invited UPARTNER",
    ]
    assert len(HEADER) == 14
    assert iso(datetime(2026, 3, 2, 10, 0, tzinfo=UTC).astimezone()) == "2026-03-02T10:00:00Z"


def test_a_code_in_any_text_is_masked_and_formulas_are_neutralised() -> None:
    code = new_code()
    shown = cells(
        row(
            description=f'=HYPERLINK("http://evil","{code}")',
            partner_label="@Pat (Globex)",
            note=f"your code: {code}",
            actor="system",
            action="declined",
            detail="-2+3",
        )
    )
    assert shown[1] == '\'=HYPERLINK("http://evil","[redacted]")'
    assert (shown[6], shown[7], shown[13]) == ("'@Pat (Globex)", "your code: [redacted]", "'-2+3")
    assert code not in "".join(shown)


async def pages_of(*pages: Sequence[Any]) -> AsyncIterator[Sequence[Any]]:
    for page in pages:
        yield page


async def test_the_csv_read_back_with_csv() -> None:
    with tempfile.TemporaryFile() as out:
        written = await write_csv(
            pages_of([row(id=1), row(id=2, detail='a, "b"\nc')], [row(id=3)]), out
        )
        assert written == 3
        length = out.tell()
        out.seek(0)
        raw = out.read()
    assert len(raw) == length
    assert raw.startswith(b'\xef\xbb\xbf"connection","description"')  # a BOM, every cell quoted
    parsed = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert parsed[0] == list(HEADER)
    assert [r[13] for r in parsed[1:]] == ["invited UPARTNER", 'a, "b"\nc', "invited UPARTNER"]
    assert len(parsed) == 4


async def test_an_empty_export_is_its_header() -> None:
    with tempfile.TemporaryFile() as out:
        assert await write_csv(pages_of(), out) == 0
        out.seek(0)
        assert out.read().decode("utf-8-sig") == ",".join(f'"{h}"' for h in HEADER) + "\r\n"


# -- the read, on SQLite and PostgreSQL ----------------------------------------------------------


def test_no_code_column_is_read() -> None:
    names = {column.key for _, column in EXPORTED}
    assert not names & {"code_hash", "code_sealed", "sealed"}
    assert [label for label, _ in EXPORTED] == [
        "id",
        "connection",
        "description",
        "mode",
        "destination",
        "destination_url",
        "state",
        "partner_label",
        "partner_user_id",
        "note",
        "actor",
        "action",
        "at",
        "from_state",
        "to_state",
        "detail",
    ]


async def _connection(session: Any, clock: FakeClock, team: str, n: int, note: str = "") -> int:
    connection, _ = await repo.create_connection(
        session=session,
        team_id=team,
        answers={
            "destination": "private",
            "mode": "script",
            "local_short_name": "acme",
            "remote_short_name": f"p{n}",
            "connection_name": f"acme_to_p{n}",
            "description": f"=cmd{n}",
            "project_key": "SUP",
            "note": note,
        },
        backend="local",
        backend_id=None,
        initiator_user_id="UADMIN",
        partner_user_id=f"UP{n}",
        partner_team_id=team,
        code_hash=f"{team}{n}".ljust(64, "0"),
        code_sealed="sealed-" + "x" * 40,
        expires_at=clock.now() + timedelta(days=14),
        next_reminder_at=None,
        now=clock.now(),
    )
    assert connection.id is not None
    return connection.id


async def test_the_teams_trail_in_keyset_pages_from_since(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    sessions = session_factory(engine)
    start = clock.now()
    async with transaction(sessions) as session:
        first = await _connection(session, clock, "T1", 1, note="@note")
        await _connection(session, clock, "T2", 2)  # another workspace's
        clock.advance(timedelta(days=10))
        second = await _connection(session, clock, "T1", 3)
        await repo.add_audits(
            session=session,
            events=[
                {
                    "team_id": "T1",
                    "connection_id": first,
                    "actor": "system",
                    "action": f"reminder_{k}_sent",
                    "detail": "to UP1",
                    "at": clock.now() + timedelta(minutes=k),
                }
                for k in range(4)
            ]
            + [  # the partner's workspace's row about T1's connection: in T1's trail
                {
                    "team_id": "T9",
                    "connection_id": second,
                    "actor": "system",
                    "action": "invitation_dm_sent",
                    "detail": "to UP3",
                    "at": clock.now(),
                },
                # no connection: not a connection's trail
                {
                    "team_id": "T1",
                    "connection_id": None,
                    "actor": "system",
                    "action": "x",
                    "detail": "",
                    "at": clock.now(),
                },
            ],
        )

    async def read(since: datetime, page: int) -> list[list[Any]]:
        async with sessions() as session:
            pages = repo.audit_trail_pages(session=session, team_id="T1", since=since, page=page)
            return [[(r.connection, r.action, r.note) for r in p] async for p in pages]

    everything = [
        ("acme_to_p1", "initiated", "@note"),
        ("acme_to_p3", "initiated", ""),
        ("acme_to_p1", "reminder_0_sent", None),
        ("acme_to_p1", "reminder_1_sent", None),
        ("acme_to_p1", "reminder_2_sent", None),
        ("acme_to_p1", "reminder_3_sent", None),
        ("acme_to_p3", "invitation_dm_sent", None),
    ]
    assert await read(start, 1000) == [everything]
    assert await read(start, 3) == [everything[:3], everything[3:6], everything[6:]]
    assert await read(start, 7) == [everything]  # a full last page: one more (empty) read
    assert await read(start + timedelta(days=1), 2) == [
        everything[1:3],
        everything[3:5],
        everything[5:],
    ]
    assert await read(clock.now() + timedelta(days=1), 2) == []
    async with sessions() as session:
        [[one]] = [
            p async for p in repo.audit_trail_pages(session=session, team_id="T2", since=start)
        ]
    assert (one.connection, one.description, one.state, one.at) == (
        "acme_to_p2",
        "=cmd2",
        "PENDING",
        start,
    )


async def test_on_sqlite_a_page_is_read_in_id_order_with_no_sort(tmp_path: Any) -> None:
    """The plan SQLite takes for a page: audit_event by its primary key, then each row's
    connection and invitation by theirs; no temporary B-tree sorting the team's whole trail."""
    engine = create_engine(normalize_database_url(f"sqlite:///{tmp_path / 'plan.db'}"))
    await migrate(engine)
    statements: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "audit_event" in statement and "EXPLAIN" not in statement:
            statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", seen)
    async with session_factory(engine)() as session:
        assert [
            p async for p in repo.audit_trail_pages(session=session, team_id="T1", since=WHEN)
        ] == []
        [(statement, parameters)] = statements
        raw = await session.connection()
        plan = (await raw.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)).all()
    await engine.dispose()
    assert [step[-1] for step in plan] == [
        "SEARCH audit_event USING INTEGER PRIMARY KEY (rowid>?)",
        "SEARCH connection USING INTEGER PRIMARY KEY (rowid=?)",
        "SEARCH invitation USING INTEGER PRIMARY KEY (rowid=?) LEFT-JOIN",
    ]
