"""Where the state lives: resolving, normalising and redacting state URLs.

Order of precedence: an explicit ``--state`` value, then ``RECONCILER_STATE``, then a SQLite file
beside the configuration (``<config_dir>/.reconciler/state.db``). URLs may carry a database
password, so anything shown to people goes through ``redacted_url``.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from .errors import InvalidStateUrl

STATE_ENV_VAR = "RECONCILER_STATE"
DEFAULT_STATE_PATH = Path(".reconciler") / "state.db"

# psycopg 3 is the PostgreSQL driver we ship; plain postgresql:// would make SQLAlchemy look for
# psycopg2, which is not installed, and fail with a confusing import error.
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+psycopg"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}


def resolve_state_url(explicit: str | None, config_dir: Path) -> str:
    """The state URL to use: ``explicit``, else $RECONCILER_STATE, else the default SQLite file.

    For the default, the ``.reconciler`` directory is created. A bare path (no ``scheme://``)
    means a SQLite file, relative to the current directory like any command-line path.
    """
    chosen = explicit or os.environ.get(STATE_ENV_VAR) or None
    if chosen is None:
        state_file = (config_dir / DEFAULT_STATE_PATH).resolve()
        state_file.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{state_file}"
    return normalise_state_url(chosen)


def normalise_state_url(value: str) -> str:
    """Turn a bare path into a SQLite URL and any PostgreSQL URL into its psycopg 3 form.

    Raises InvalidStateUrl (without echoing the password the URL may hold) for anything else.
    """
    if "://" not in value:
        return f"sqlite:///{Path(value).expanduser().resolve()}"
    try:
        url = make_url(value)
    except ArgumentError:
        raise InvalidStateUrl(f"not a valid state URL: {redacted_url(value)}") from None
    if url.drivername in _POSTGRES_SCHEMES:
        return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if url.drivername in _SQLITE_SCHEMES:
        if not url.database or url.database == ":memory:":
            raise InvalidStateUrl("the state needs a SQLite file, not an in-memory database")
        return url.set(drivername="sqlite").render_as_string(hide_password=False)
    raise InvalidStateUrl(
        f"unsupported state backend {url.drivername!r}: use a SQLite file path or a "
        "postgresql+psycopg:// URL"
    )


def redacted_url(value: str) -> str:
    """The URL with its password (in the userinfo or a ``password=`` query parameter) masked."""
    if "://" not in value:
        return value
    try:
        url: URL = make_url(value)
    except ArgumentError:
        return value.split("://", 1)[0] + "://***"
    if "password" in url.query:
        url = url.update_query_dict({"password": "***"})
    return url.render_as_string(hide_password=True)
