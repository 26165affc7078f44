"""What every connector does the same way: cutting work into batches and carrying opaque cursors.

Salesforce and Exchange both take work in bounded slices (200 values per SOQL IN list or sObject
collection, 100 items per EWS call) and both hand the engine a cursor it stores but never reads.
One implementation of each, so the services differ only where they really do.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from .errors import ConnectorError, ErrorKind

T = TypeVar("T")

CURSOR_FORMAT = 1   # the "v" of every cursor: a cursor of another format is refused, never guessed at


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of at most ``size``: one service call per slice."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def encode_cursor(data: Mapping[str, Any]) -> str:
    """A connector's listing position as an opaque, URL-safe text the engine stores as it is
    (JSON with sorted keys, so an unchanged position encodes to the same text)."""
    return base64.urlsafe_b64encode(json.dumps(data, sort_keys=True).encode()).decode()


def decode_cursor(cursor: str, service: str) -> dict[str, Any]:
    """The position inside a cursor made by :func:`encode_cursor`. A text that is not one (another
    service's cursor, another format, damage) is a configuration error naming ``service``: the
    user's cursor must be reset, not read as something it is not."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(data, dict) or data.get("v") != CURSOR_FORMAT:
            raise ValueError
        return data
    except ValueError:
        raise ConnectorError(ErrorKind.CONFIGURATION, f"not a change cursor of {service}",
                             fix="reset the user's sync cursor (Reset Sync)") from None
