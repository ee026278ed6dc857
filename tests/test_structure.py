"""The house rules, checked on the code itself: the import graph of bot/, handlers/ and storage/
is acyclic (imports inside functions included), SQL is written only in storage/, handlers
import no other handler, and no module passes 400 lines. Each check is also run on a small
tree made to break it, so that it is seen to fail."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "handlers", "storage")
MAX_LINES = 400
# a statement builder or a session's way to run one; devtools and migrations are not the app
SQL = re.compile(r"\b(select|update|insert|delete)\(|\bsession\.(exec|execute|get|scalars?)\(")
NOT_CHECKED_FOR_SQL = ("storage", "bot/devtools")


def modules(root: Path) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of ours that `name` imports, wherever the import stands (a function's
    body, `if TYPE_CHECKING:`): a lazy import closes a loop as surely as a top-level one."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_cycles(root: Path) -> list[list[str]]:
    known = modules(root)
    graph = {name: imports_of(name, path, known) for name, path in known.items()}
    cycles, state = [], dict.fromkeys(graph, 0)  # 0 unseen, 1 on the path, 2 done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for other in sorted(graph[name]):
            # a package's __init__ is imported with each of its modules: not an edge back
            if name.startswith(other + "."):
                continue
            if state[other] == 1:
                cycles.append([*path[path.index(other) :], other])
            elif state[other] == 0:
                visit(other, [*path, other])
        state[name] = 2

    for name in sorted(graph):
        if state[name] == 0:
            visit(name, [name])
    return cycles


def handler_cross_imports(root: Path) -> list[str]:
    known = modules(root)
    return [
        f"{name} imports {other}"
        for name, path in known.items()
        if name.startswith("handlers.")
        for other in sorted(imports_of(name, path, known))
        if other.startswith("handlers")
    ]


def sql_outside_storage(root: Path) -> list[str]:
    found = []
    for path in modules(root).values():
        relative = path.relative_to(root).as_posix()
        if relative.startswith(NOT_CHECKED_FOR_SQL):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if SQL.search(code):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def long_modules(root: Path) -> list[str]:
    return [
        f"{path.relative_to(root)}: {count} lines"
        for path in modules(root).values()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    ]


def positional_repository_functions(root: Path) -> list[str]:
    """storage/repo's public functions that take an argument by position: every one is
    keyword-only (`claim_due_reminders(*, session, now, limit)`)."""
    found = []
    for path in sorted((root / "storage" / "repo").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not node.name.startswith("_") and (node.args.args or node.args.posonlyargs):
                found.append(f"{path.relative_to(root).as_posix()}: {node.name}")
    return found


def test_the_import_graph_has_no_cycle() -> None:
    assert import_cycles(ROOT) == []


def test_handlers_import_no_other_handler() -> None:
    assert handler_cross_imports(ROOT) == []


def test_sql_is_written_only_in_storage() -> None:
    assert sql_outside_storage(ROOT) == []


def test_no_module_is_over_400_lines() -> None:
    assert long_modules(ROOT) == []


def test_repository_functions_are_keyword_only() -> None:
    assert positional_repository_functions(ROOT) == []


# --- the checks themselves fail on a tree that breaks them ----------------------------


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    def write(relative: str, text: str) -> None:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    for package in PACKAGES:
        write(f"{package}/__init__.py", "")
    write("bot/a.py", "from bot.b import thing\n")
    write("bot/b.py", "def thing():\n    from bot import a  # lazy, still a loop\n")
    write("handlers/one.py", "from handlers.two import x\n")
    write("handlers/two.py", "x = 1\n")
    write("bot/feature.py", "rows = await session.exec(select(Row))\n")
    write("storage/repo.py", "rows = await session.exec(select(Row))\n")
    write("storage/repo/rows.py", "async def rows(session, *, limit):\n    return []\n")
    write("bot/big.py", "x = 1\n" * (MAX_LINES + 1))
    return tmp_path


def test_the_checks_catch_what_they_look_for(broken: Path) -> None:
    assert import_cycles(broken) == [["bot.a", "bot.b", "bot.a"]]
    assert handler_cross_imports(broken) == ["handlers.one imports handlers.two"]
    assert sql_outside_storage(broken) == [
        "bot/feature.py:1: rows = await session.exec(select(Row))"
    ]
    assert long_modules(broken) == [f"bot/big.py: {MAX_LINES + 1} lines"]
    assert positional_repository_functions(broken) == ["storage/repo/rows.py: rows"]
