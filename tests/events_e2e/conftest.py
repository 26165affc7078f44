"""Event sync end to end: the quickstart configuration (events both ways) against the sandbox, with
the real connectors reading both calendars the way users see them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import yaml

from sync_e2e.conftest import EXCHANGE, SALESFORCE, World, config_dir, fast_backoff, sandbox, world  # noqa: F401 - fixtures

from reconciler.config import load_config

from reconciler.connectors.exchange_events import ExchangeCalendarStore
from reconciler.connectors.salesforce_events import SalesforceEventStore
from reconciler.engine.runtime import Runtime
from reconciler.sync import SourceRecord
from reconciler.sync.events import EventWindow, PrivateEvents


def window() -> EventWindow:
    return EventWindow.around(dt.datetime.now(dt.timezone.utc))


def salesforce_events(world: World, username: str, zone: str) -> SalesforceEventStore:
    """Everything the user owns in the window, private events included (what the user sees)."""
    return SalesforceEventStore(world.runtime.salesforce(SALESFORCE), world.salesforce_user_id(username), window(),
                                ZoneInfo(zone), PrivateEvents.SYNC)


def calendar(world: World, mailbox: str, zone: str) -> ExchangeCalendarStore:
    """The whole calendar in the window, private items included (what the user sees)."""
    return ExchangeCalendarStore(world.runtime.exchange(EXCHANGE), mailbox, window(), ZoneInfo(zone),
                                 private_events=PrivateEvents.SYNC)


def subjects(records: list[SourceRecord], subject: str) -> list[SourceRecord]:
    return [r for r in records if r.fields.get("Subject") == subject]


def edit_events(world: World, **events: object) -> None:
    """Set keys of the quickstart SyncConfiguration's ``spec.events`` (``dataSet`` merged)."""
    path = world.config_dir / "reconciler.yaml"
    documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
    for doc in documents:
        if doc["kind"] == "SyncConfiguration":
            current = doc["spec"].setdefault("events", {})
            data_set = events.pop("dataSet", None)
            if data_set:
                current["dataSet"] = {**current.get("dataSet", {}), **data_set}   # type: ignore[dict-item]
            current.update(events)
    path.write_text(yaml.safe_dump_all(documents, sort_keys=False), encoding="utf-8")
    world.runtime.close()
    world.runtime = Runtime(load_config(world.config_dir).config, world.config_dir, backoff=fast_backoff)
