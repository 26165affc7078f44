"""API calls, time and memory of whole event sync cycles (plan + apply) through the engine, against the sandbox.

Each case seeds one bench user with N events a side (``reconciler.sandbox.generate``): in Salesforce N
events of their own; in the mailbox a calendar whose window shows N events, ``--recurring`` of them
occurrences of weekly series; every other timed event on each side a meeting with ``--attendees``
attendees (Salesforce Users, Leads and Contacts, and in Exchange guests who match nothing). Events
sync both ways with attendees and ``relateToRecords``; contacts do not sync. Measured:

1. the initial cycle: plan (both calendars listed in full, the attendee directory, the attendee
   preview) and apply (N creates each way, Salesforce Id stamps on single items, EventRelations
   for Exchange attendees, WhoId, Salesforce invitees added to the new Exchange items);
2. a second cycle with nothing changed anywhere: it re-reads, as echoes, the writes the initial
   apply could not move its cursors past;
3. a no-change cycle (the steady state), whose calls must not grow with N.

Then both calendars are listed in full to check the result: 2N events on each side, 2N pairs, no
Salesforce event or Exchange item in two pairs, and on every pair the Exchange attendees that match
a Salesforce record are the Salesforce event's invitees and the reverse.

Usage: ``python benchmarks/event_cycle.py --sizes 1000,5000,10000``
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from harness import (Case, Phase, SandboxProcess, argument_parser, batches, measured, parse_sizes, run_benchmark,
                     quiet_cycles, sandbox_connections, wait_past_change_window)

from reconciler.connectors.exchange import EWS_BATCH, SYNC_PAGE, ExchangeConnector
from reconciler.connectors.exchange_events import ExchangeCalendarStore
from reconciler.connectors.salesforce import COLLECTION_SIZE, IN_LIST_SIZE, QUERY_PAGE_SIZE, SalesforceConnector
from reconciler.connectors.salesforce_events import SalesforceEventStore
from reconciler.engine.configuration import config_root
from reconciler.engine.cycle import apply_cycle, plan_cycle
from reconciler.engine.events import EVENT_OBJECT
from reconciler.engine.records import list_side
from reconciler.engine.runtime import sandbox_dir
from reconciler.plan.records import record_entries
from reconciler.sandbox.generate import (COLLEAGUES, GUESTS, INVITED_CONTACTS, LEADS_PER_USER,
                                         bench_user_address)
from reconciler.state import StateStore, resolve_state_url
from reconciler.sync import SourceRecord
from reconciler.sync.events import EventWindow, PrivateEvents
from reconciler.sync.ports import CreateOp, RecordStore, Side

BENCHMARK = "event_cycle"
DEFAULT_RECURRING = 0.2
DEFAULT_ATTENDEES = 3
PAST_DAYS = 31      # the generator's events start up to 30 days back in the mailbox's zone
FUTURE_DAYS = 365   # its series end within 170 days
CALENDAR_VIEW_PAGE = 1000   # FindItem (CalendarView) returns up to 1,000 items a call
USER = "user00001"
_BATCH = {Side.SALESFORCE: COLLECTION_SIZE, Side.EXCHANGE: EWS_BATCH}


def _config_documents(events: int) -> list[dict[str, Any]]:
    """Connections to the sandbox, the bench user, and a two-way events configuration (attendees,
    relateToRecords, no invitations) whose window holds every generated event and whose limits let
    the largest case through: the benchmark measures a cycle, not the guards."""
    return [
        *sandbox_connections(),
        {"apiVersion": "reconciler/v1", "kind": "User", "metadata": {"name": USER},
         "spec": {"salesforceUsername": bench_user_address(1)}},
        {"apiVersion": "reconciler/v1", "kind": "SyncConfiguration", "metadata": {"name": "bench-events"},
         "spec": {"salesforceConnection": "bench-salesforce", "exchangeConnection": "bench-exchange",
                  "assign": {"users": [USER]},
                  "contacts": {"direction": "none"},
                  "events": {"direction": "both", "attendees": True, "relateToRecords": True,
                             "dataSet": {"pastDays": PAST_DAYS, "futureDays": FUTURE_DAYS}},
                  "limits": {"recordsPerUser": 4 * events, "maxChanges": 4 * events}}},
    ]


def _listing_bound(events: int, items: int) -> int:
    """Both calendars in full: Salesforce query pages and one EventRelation query per 200 events;
    Exchange's sync state (SyncFolderItems over the items, series masters counted once), the
    CalendarView pages and GetItem for the text fields of every occurrence; the attendee directory
    (User, Lead and Contact queries over every address the meetings name, 200 a query)."""
    addresses = COLLEAGUES + LEADS_PER_USER + INVITED_CONTACTS + GUESTS
    return (batches(events, QUERY_PAGE_SIZE) + batches(events, IN_LIST_SIZE)
            + batches(items, SYNC_PAGE) + batches(events, CALENDAR_VIEW_PAGE) + batches(events, EWS_BATCH)
            + 3 * batches(addresses, IN_LIST_SIZE))


def _apply_bound(entries: Iterable[Any]) -> tuple[int, int, str]:
    """(record writes the plan holds, the fewest calls that carry them and what they imply, the
    rule with its counts).

    Each side writes each kind of op in batches of its own; an event created in Salesforce from a
    single Exchange item costs an Exchange update stamping the new Id on it (occurrences are never
    stamped); the plan's EventRelation creates, updates and deletes go 200 a collection call, and
    the attendees to add to (or remove from) existing Exchange items 100 items an UpdateItem (a new
    item carries its attendees in its CreateItem). WhoId could ride on the create of the event, so
    it adds nothing."""
    kinds: Counter[tuple[Side, str]] = Counter()
    relations: Counter[str] = Counter()
    invited: set[str] = set()
    writes = 0
    for entry in entries:
        for action in entry.actions:
            writes += len(action.writes)
            for side, op in action.writes.items():
                kinds[(side, type(op).__name__)] += 1
            if (isinstance(action.salesforce_write, CreateOp) and action.exchange_id
                    and action.next_pair is not None and not action.next_pair.exchange_stamped):
                kinds[(Side.EXCHANGE, "stamp")] += 1
        relations.update(c.change for c in entry.attendees if c.change.endswith("_relation"))
        # Invitees of an event created in Exchange ride on its CreateItem: only existing items count.
        invited |= {str(c.exchange_id) for c in entry.attendees if c.change in ("invite", "uninvite") and c.exchange_id}
    stamps = kinds.pop((Side.EXCHANGE, "stamp"), 0)
    calls = (sum(batches(n, _BATCH[side]) for (side, _), n in kinds.items())
             + (batches(stamps, EWS_BATCH) if stamps else 0)
             + sum(batches(n, COLLECTION_SIZE) for n in relations.values())
             + (batches(len(invited), EWS_BATCH) if invited else 0))
    ops = ", ".join(f"{side.value} {kind} {n}" for (side, kind), n in sorted(kinds.items()))
    rule = (f"{ops}, stamps {stamps}, relations {sum(relations.values())} (200 a call), "
            f"items invited to {len(invited)} (100 an UpdateItem)")
    return writes, calls, rule


def _newest_salesforce_stamps(sandbox: SandboxProcess) -> list[str]:
    """The newest SystemModstamp of any Event and EventRelation: apply writes invitees after its
    events, and the sandbox stamps a burst of writes ahead of its clock (harness notes)."""
    connector = SalesforceConnector(sandbox.salesforce_settings())
    return [row["SystemModstamp"] for sobject in ("Event", "EventRelation")
            for row in connector.query_all(f"SELECT SystemModstamp FROM {sobject} ORDER BY SystemModstamp DESC LIMIT 1",
                                           "reading the newest stamp")]


def _listed(store: RecordStore) -> tuple[SourceRecord, ...]:
    """Every record of a store, as the engine lists a side in full."""
    listing = list_side(store, None)
    if listing.error:
        raise RuntimeError(f"listing for the result check failed: {listing.error}")
    return listing.snapshot.records


def _check_result(sandbox: SandboxProcess, store: StateStore, events: int) -> dict[str, int]:
    """Both calendars listed in full (outside every measured phase), against what the cycles must
    have made: every event on both sides once, and the same attendees on both sides of each pair.
    Raises on the first difference; returns the counts for the results file."""
    salesforce = SalesforceConnector(sandbox.salesforce_settings())
    owner = salesforce.users_by_username([bench_user_address(1)])[bench_user_address(1)]
    window = EventWindow.around(dt.datetime.now(dt.timezone.utc), PAST_DAYS, FUTURE_DAYS)
    zone = ZoneInfo(owner.time_zone or "UTC")
    exchange = ExchangeConnector(sandbox.exchange_settings())
    try:
        in_salesforce = _listed(SalesforceEventStore(salesforce, owner.id, window, zone, PrivateEvents.SKIP))
        in_exchange = _listed(ExchangeCalendarStore(exchange, bench_user_address(1), window, zone))
    finally:
        exchange.close()
    pairs = store.pairs(USER, EVENT_OBJECT)
    counts = {"salesforce_events": len(in_salesforce), "exchange_events": len(in_exchange), "pairs": len(pairs),
              "salesforce_ids_paired": len({p.salesforce_id for p in pairs}),
              "exchange_ids_paired": len({p.exchange_id for p in pairs})}
    if set(counts.values()) != {2 * events}:
        raise RuntimeError(f"after the cycles, expected {2 * events} of each: {counts}")
    by_id = {r.id: r for r in in_salesforce + in_exchange}
    addresses = sorted({a.email.lower() for r in in_exchange for a in r.fields["Attendees"]})
    directory = SalesforceEventStore(salesforce, owner.id, window, zone).attendee_directory(addresses)
    matching = {email for by_email in directory.values() for email in by_email}
    differing = []
    for pair in pairs:
        event, item = by_id[pair.salesforce_id], by_id[pair.exchange_id]
        invitees = {row.email.lower() for row in event.fields["EventRelations"] if row.is_invitee and row.email}
        attendees = {a.email.lower() for a in item.fields["Attendees"]}
        if invitees != attendees & matching:
            differing.append((event.fields.get("Subject"), sorted(invitees ^ (attendees & matching))))
    counts["meetings"] = sum(1 for r in in_exchange if r.fields["Attendees"])
    counts["invitees"] = sum(1 for r in in_salesforce for row in r.fields["EventRelations"] if row.is_invitee)
    if differing:
        raise RuntimeError(f"{len(differing)} pairs whose attendees differ between the sides, e.g. {differing[:3]}")
    return counts


def run_case(events: int, recurring: float, attendees: int, trace_heap: bool) -> dict[str, Any]:
    """The three cycles for one size; raises when a cycle does not do what it should."""
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="reconciler-bench-") as scratch:
        config_dir = Path(scratch) / "config"
        config_dir.mkdir()
        (config_dir / "bench.yaml").write_text(yaml.safe_dump_all(_config_documents(events), sort_keys=False),
                                               encoding="utf-8")
        root = config_root(config_dir)
        with SandboxProcess(sandbox_dir(root), users=1, contacts_per_user=INVITED_CONTACTS, events_per_user=events,
                            recurring=recurring, attendees=attendees) as sandbox, \
                StateStore.open(resolve_state_url(None, root)) as store:
            items = sandbox.seed_counts["exchange.events"]
            with measured(sandbox, Phase("initial plan", 2 * events, _listing_bound(events, items),
                                         "full listings of both calendars + attendee directory"),
                          trace_heap) as phase:
                plan, _ = plan_cycle(config_dir, store, refresh=True)
            phases.append(phase)
            entries = [e for e in record_entries(plan.record_changes) if e.object == EVENT_OBJECT]
            writes, bound, rule = _apply_bound(entries)
            creates = sum(1 for e in entries for a in e.actions if a.writes)
            if creates != 2 * events or any(e.status != "planned" for e in entries):
                raise RuntimeError(f"the initial plan creates {creates} events (expected {2 * events}): "
                                   f"{[(e.user, e.status, e.reason, e.counts) for e in entries]}")
            with measured(sandbox, Phase("initial apply", writes, bound, rule), trace_heap) as phase:
                outcome = apply_cycle(plan, store, config_dir, "benchmark", allow_mass_changes=True)
            phases.append(phase)
            if not outcome.ok or outcome.records is None or outcome.records.written != writes:
                raise RuntimeError(f"the initial apply failed or fell short of {writes} writes: {outcome}")
            wait_past_change_window(_newest_salesforce_stamps(sandbox))

            phases += quiet_cycles(sandbox, store, config_dir, ("second", "no-change"), 4,
                                   "1 org-wide event SOQL + 1 getDeleted + 1 invitee SOQL + 1 SyncFolderItems",
                                   trace_heap)
            checked = _check_result(sandbox, store, events)
    return {"phases": [p.to_json() for p in phases], "checked": checked}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default="1000,5000,10000",
                        help="events per side for one user (default 1000,5000,10000)")
    parser.add_argument("--recurring", type=float, default=DEFAULT_RECURRING,
                        help=f"share of the mailbox's events that are occurrences of weekly series "
                             f"(default {DEFAULT_RECURRING})")
    parser.add_argument("--attendees", type=int, default=DEFAULT_ATTENDEES,
                        help=f"attendees per meeting, every other timed event on each side (default {DEFAULT_ATTENDEES})")
    args = parser.parse_args(argv)
    cases = [Case(f"one user, {n} events per side, {args.recurring:.0%} recurring, {args.attendees} attendees "
                  f"per meeting", (n, args.recurring, args.attendees)) for n in args.sizes]
    path = run_benchmark(BENCHMARK, cases, run_case, args.results_dir, args.heap)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
