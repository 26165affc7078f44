"""Event sync end to end: the quickstart configuration (events both ways) against the sandbox, with
the real connectors reading both calendars the way users see them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sync_e2e.conftest import EXCHANGE, SALESFORCE, World, config_dir, sandbox, world  # noqa: F401 - fixtures

from reconciler.connectors.exchange_events import ExchangeCalendarStore
from reconciler.connectors.salesforce_events import SalesforceEventStore
from reconciler.sync import SourceRecord
from reconciler.sync.events import EventWindow


def window() -> EventWindow:
    return EventWindow.around(dt.datetime.now(dt.timezone.utc))


def salesforce_events(world: World, username: str, zone: str) -> SalesforceEventStore:
    return SalesforceEventStore(world.runtime.salesforce(SALESFORCE), world.salesforce_user_id(username), window(),
                                ZoneInfo(zone))


def calendar(world: World, mailbox: str, zone: str) -> ExchangeCalendarStore:
    return ExchangeCalendarStore(world.runtime.exchange(EXCHANGE), mailbox, window(), ZoneInfo(zone))


def subjects(records: list[SourceRecord], subject: str) -> list[SourceRecord]:
    return [r for r in records if r.fields.get("Subject") == subject]
