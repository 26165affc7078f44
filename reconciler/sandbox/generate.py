"""A complete synthetic sandbox seed for benchmarks: one cast across Salesforce, Exchange and identity.

The per-side generators (``salesforce/generate.py``, ``ews/generate.py``) each fill one service's
section; this module gives them the same users, so every Salesforce user ``userNNNNN@bench.example``
has a mailbox of that address which the service account (and the identity app of the default seed)
may impersonate. ``overlap`` makes a share of each user's contacts exist on both sides with the same
email, name, phone, title and company: exactly what first-sync matching pairs, so a benchmark can
measure pairing as well as creating.

Events: ``recurring`` (a share) makes that share of each mailbox's events occurrences of weekly
series (see ``ews/generate.py``). ``attendees`` turns every other timed event on each side into a
meeting with that many attendees, drawn in turn from four kinds, so attendee matching meets each
(docs/event-rules.md, "Attendees"): Salesforce **Users** (five colleagues, ``colleagueNN@``, who
have no mailbox and do not sync), **Leads** (twenty per user, added to the seed), the user's
**Contacts** (their first twenty) and, in Exchange only, **guests** whose address matches nothing.
Salesforce meetings carry them as invitees (EventRelations); Exchange meetings as required
(every other one, from the first) and optional attendees with assorted responses. A user without
contacts gets no Contact attendees.

Run as a module to write a seed file for ``reconcile sandbox serve --seed``::

    python -m reconciler.sandbox.generate --users 10 --contacts 1000 > seed.yaml
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from .ews.generate import generate_seed as generate_exchange_section
from .salesforce.generate import generate_seed as generate_salesforce_section
from .server import DEFAULT_SEED_DIR, load_seed

BENCH_DOMAIN = "bench.example"
INTEGRATION_USER = f"integration@{BENCH_DOMAIN}"
SYNC_FOLDER = "Salesforce_Sync"
COLLEAGUES = 5             # Salesforce users without a mailbox, invited to meetings
LEADS_PER_USER = 20        # leads a user owns when meetings have attendees
INVITED_CONTACTS = 20      # how many of a user's first contacts meetings invite
GUESTS = 20                # attendee addresses no Salesforce record has
_RESPONSES = ("Accept", "Tentative", "Decline", "NoResponseReceived")
_INVITEE_STATUSES = ("New", "Accepted")
# A few real zones, so per-user time-zone handling is exercised without making any user special.
_TIME_ZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo", "UTC")


def bench_user_address(number: int) -> str:
    """The address of benchmark user ``number`` (1-based): both Salesforce username and mailbox."""
    return f"user{number:05d}@{BENCH_DOMAIN}"


def _users(count: int) -> list[dict[str, Any]]:
    return [{"username": bench_user_address(n), "email": bench_user_address(n), "first_name": "Bench",
             "last_name": f"User {n:05d}", "profile": "Sales User",
             "time_zone": _TIME_ZONES[(n - 1) % len(_TIME_ZONES)]} for n in range(1, count + 1)]


def _mailbox_copy(contact: dict[str, Any]) -> dict[str, Any]:
    """A Salesforce seed contact as the same person in the mailbox's sync folder, in the field
    pairs of the default mapping (FirstName -> GivenName, Email -> EmailAddress1, Account.Name ->
    CompanyName ...), so the pair carries no field differences once matched."""
    copy: dict[str, Any] = {
        "folder": SYNC_FOLDER, "GivenName": contact["FirstName"], "Surname": contact["LastName"],
        "DisplayName": f"{contact['FirstName']} {contact['LastName']}", "CompanyName": contact["account"],
        "EmailAddresses": {"EmailAddress1": contact["Email"]},
        "PhoneNumbers": {"BusinessPhone": contact["Phone"]},
    }
    if "Title" in contact:
        copy["JobTitle"] = contact["Title"]
    return copy


def colleague_address(number: int) -> str:
    """The address (Salesforce username and email) of colleague ``number`` (1-based)."""
    return f"colleague{number:02d}@{BENCH_DOMAIN}"


def guest_address(number: int) -> str:
    """An attendee address (``number`` 1-based) that no Salesforce User, Lead or Contact has."""
    return f"guest{number:02d}@elsewhere.example"


def _colleagues() -> list[dict[str, Any]]:
    return [{"username": colleague_address(n), "email": colleague_address(n), "first_name": "Colleague",
             "last_name": f"{n:02d}", "profile": "Sales User", "time_zone": "UTC"} for n in range(1, COLLEAGUES + 1)]


def _leads(owner: str, user_number: int) -> list[dict[str, Any]]:
    return [{"FirstName": "Prospect", "LastName": f"{user_number}-{n}", "Company": f"Prospect Co {n % 7}",
             "Email": f"prospect.{user_number}.{n}@prospects.example", "owner": owner}
            for n in range(LEADS_PER_USER)]


def _attendees(rng: random.Random, pools: Sequence[Sequence[str]], count: int, meeting: int) -> list[str]:
    """``count`` different addresses; slot ``i`` of meeting ``meeting`` draws from pool
    ``(meeting + i) % len(pools)``, so every kind takes its turn at every position."""
    wanted = [0] * len(pools)
    for slot in range(count):
        wanted[(meeting + slot) % len(pools)] += 1
    drawn = {index: iter(rng.sample(list(pool), min(wanted[index], len(pool)))) for index, pool in enumerate(pools)}
    chosen = (next(drawn[(meeting + slot) % len(pools)], None) for slot in range(count))
    return [address for address in chosen if address is not None]


def _is_meeting(event: dict[str, Any], number: int) -> bool:
    """Every other event, counted per user, is a meeting, unless it is all-day."""
    return number % 2 == 0 and not event["when"].get("all_day")


def _add_attendees(salesforce: dict[str, Any], exchange: dict[str, Any], cast: Sequence[dict[str, Any]],
                   attendees: int, rng: random.Random) -> None:
    """Colleagues and leads into the Salesforce section, then attendees on every other timed event
    of each user on both sides (see the module notes)."""
    colleague_users = _colleagues()
    salesforce["users"] += colleague_users
    colleagues = [c["username"] for c in colleague_users]
    guests = [guest_address(n) for n in range(1, GUESTS + 1)]
    salesforce["leads"] = []
    for user_number, (user, mailbox) in enumerate(zip(cast, exchange["mailboxes"])):
        owner = user["username"]
        leads = _leads(owner, user_number)
        salesforce["leads"] += leads
        contacts = [c["Email"] for c in salesforce["contacts"] if c["owner"] == owner][:INVITED_CONTACTS]
        pools = [pool for pool in (colleagues, [lead["Email"] for lead in leads], contacts) if pool]
        owned = (e for e in salesforce["events"] if e["owner"] == owner)
        for number, event in enumerate(owned):
            if _is_meeting(event, number):
                event["invitees"] = [{"invitee": address, "status": rng.choice(_INVITEE_STATUSES)}
                                     for address in _attendees(rng, pools, attendees, number)]
        for number, event in enumerate(mailbox["events"]):
            if _is_meeting(event, number):
                chosen = _attendees(rng, [*pools, guests], attendees, number)
                people = [{"EmailAddress": address, "ResponseType": rng.choice(_RESPONSES)} for address in chosen]
                event["RequiredAttendees"] = people[0::2]
                if people[1::2]:
                    event["OptionalAttendees"] = people[1::2]


def generate_seed(users: int, contacts_per_user: int, events_per_user: int, overlap: float = 0.0,
                  seed: int = 0, recurring: float | None = None, attendees: int = 0) -> dict[str, Any]:
    """A seed with ``salesforce``, ``exchange`` and ``identity`` sections for ``users`` bench users.

    Each user owns ``contacts_per_user`` Salesforce contacts and ``events_per_user`` Salesforce
    events, and has a mailbox with ``contacts_per_user`` contacts in ``Contacts/Salesforce_Sync``
    and ``events_per_user`` calendar items. ``round(overlap * contacts_per_user)`` of the mailbox
    contacts are the user's first Salesforce contacts (same email and fields); the rest exist on
    one side only. Events never overlap. With ``recurring``, ``events_per_user`` counts the
    mailbox's events as the window shows them, that share occurrences of weekly series; with
    ``attendees``, every other timed event on each side is a meeting with that many attendees (see
    the module notes). The same arguments give the same seed; the defaults give what they gave
    before these two options existed.
    """
    if users < 1:
        raise ValueError("a bench seed needs at least one user")
    if contacts_per_user < 0 or events_per_user < 0:
        raise ValueError("contacts and events per user cannot be negative")
    if not 0.0 <= overlap <= 1.0:
        raise ValueError(f"overlap is a share between 0 and 1, got {overlap}")
    if attendees < 0:
        raise ValueError(f"attendees per meeting cannot be negative, got {attendees}")
    cast = _users(users)
    salesforce = generate_salesforce_section(cast, contacts_per_user, events_per_user,
                                             random.Random(f"salesforce:{seed}"))
    salesforce["integration_user"] = INTEGRATION_USER
    mailboxes = [{"address": u["email"], "display_name": f"{u['first_name']} {u['last_name']}",
                  "time_zone": u["time_zone"]} for u in cast]
    exchange = generate_exchange_section(mailboxes, contacts_per_user, events_per_user,
                                         random.Random(f"exchange:{seed}"), recurring)
    shared = round(overlap * contacts_per_user)
    contacts = salesforce["contacts"]  # the generator lists each user's contacts together, in user order
    for number, mailbox in enumerate(exchange["mailboxes"]):
        owned = contacts[number * contacts_per_user:number * contacts_per_user + shared]
        mailbox["contacts"][:shared] = [_mailbox_copy(c) for c in owned]
    if attendees:
        _add_attendees(salesforce, exchange, cast, attendees, random.Random(f"attendees:{seed}"))
    identity = load_seed(DEFAULT_SEED_DIR / "identity.yaml")["identity"]
    exchange["applications"] = [{"clientId": app["clientId"], "impersonates": [m["address"] for m in mailboxes]}
                                for tenant in identity.get("tenants") or [] for app in tenant.get("applications") or []]
    return {"salesforce": salesforce, "exchange": exchange, "identity": identity}


def dump_seed(seed: dict[str, Any], stream: TextIO) -> None:
    """Write a seed as YAML that ``load_seed`` reads: block style down to each section's lists,
    every list entry (a user, a contact, a mailbox with its items) one JSON flow mapping on its own
    line (JSON flow collections are valid YAML). PyYAML's representer needs over a minute for
    100,000 contacts a side; this takes about a second."""
    for section, content in seed.items():
        stream.write(f"{section}:\n")
        for key, value in content.items():
            if isinstance(value, list) and value:
                stream.write(f"  {key}:\n")
                for entry in value:
                    stream.write(f"    - {json.dumps(entry)}\n")
            else:
                stream.write(f"  {key}: {json.dumps(value)}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m reconciler.sandbox.generate",
        description="Write a synthetic benchmark seed (YAML) for `reconcile sandbox serve --seed` to stdout.")
    parser.add_argument("--users", type=int, default=1, help="bench users, each with a mailbox (default 1)")
    parser.add_argument("--contacts", type=int, default=1000, help="contacts per user on each side (default 1000)")
    parser.add_argument("--events", type=int, default=0, help="events per user on each side (default 0)")
    parser.add_argument("--overlap", type=float, default=0.0,
                        help="share of each user's contacts present on both sides with the same email (default 0)")
    parser.add_argument("--recurring", type=float, default=None,
                        help="share of each mailbox's events (as the window shows them) that are occurrences of "
                             "weekly series (default: the historical mix, one item in twenty a series)")
    parser.add_argument("--attendees", type=int, default=0,
                        help="attendees per meeting, every other timed event on each side (default 0)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    try:
        seed = generate_seed(args.users, args.contacts, args.events, args.overlap, args.seed,
                             args.recurring, args.attendees)
    except ValueError as error:
        parser.error(str(error))
    dump_seed(seed, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
