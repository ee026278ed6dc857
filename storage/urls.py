"""Database URLs as people write them (`sqlite:///…`, `postgresql://…`), in the form the async
drivers take."""

from __future__ import annotations


def normalize_database_url(url: str) -> str:
    """Accept plain `sqlite:///…` and `postgresql://…` URLs; return the async-driver form."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep or not rest:
        raise ValueError("not a URL")
    base = scheme.split("+", 1)[0].lower()
    if base == "sqlite":
        if not rest.startswith("/"):
            raise ValueError("a SQLite URL needs three slashes")
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        if rest.startswith("/") and "host=" not in rest:
            raise ValueError("a PostgreSQL URL needs a host")
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported scheme {scheme!r}")
