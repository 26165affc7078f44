"""Large synthetic mailboxes for benchmarks: an ``exchange`` seed section made from a seeded RNG.

Contacts go to each mailbox's ``Contacts/Salesforce_Sync`` folder (what the sync reads); events spread
over the month before and the quarter after the seeding day, with all-day events and weekly series
among them. The same RNG state gives the same section.

Two mixes of events: by default one item in twenty is a weekly series of 2-11 occurrences and
``events_per_mailbox`` counts items (what older benchmarks measured). With ``recurring`` (a share),
``events_per_mailbox`` counts what a CalendarView of the window shows: that share of it are
occurrences of weekly series (4-12 each, every third series with its second occurrence moved an
hour later, an exception), the rest single items. That is the number an event benchmark compares
both sides' counts with. Series start in the same days as single items and last up to 11 weeks, so
a window of ``pastDays`` >= 31 (a day -30 item in Tokyo starts on UTC day -31) and ``futureDays``
>= 170 holds every event.
"""

from __future__ import annotations

import random
from typing import Any

_GIVEN = ["Ada", "Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken", "Radia",
          "Tim", "Hedy", "Claude", "Katherine", "Dennis", "Sophie", "Linus", "Joan", "Guido"]
_SURNAMES = ["Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Hamilton",
             "Thompson", "Perlman", "Berners-Lee", "Lamarr", "Shannon", "Johnson", "Ritchie", "Wilson",
             "Torvalds", "Clarke", "van Rossum"]
_COMPANIES = ["Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises", "Soylent",
              "Wonka Industries", "Contoso", "Fabrikam"]
_TITLES = ["CEO", "CTO", "Buyer", "Engineer", "Account Manager", "Head of Procurement", "Analyst", ""]
_CITIES = [("Springfield", "IL", "USA"), ("London", "", "UK"), ("Berlin", "", "Germany"), ("Austin", "TX", "USA"),
           ("Auckland", "", "New Zealand")]
_SUBJECTS = ["Pipeline review", "Quarterly business review", "Demo", "Contract call", "Onboarding", "Lunch",
             "Renewal discussion", "Site visit", "Planning", "1:1"]


def _contact(rng: random.Random, n: int) -> dict[str, Any]:
    given, surname = rng.choice(_GIVEN), rng.choice(_SURNAMES)
    company = rng.choice(_COMPANIES)
    domain = company.lower().replace(" ", "") + ".example"
    contact: dict[str, Any] = {
        "folder": "Salesforce_Sync", "GivenName": given, "Surname": surname, "DisplayName": f"{given} {surname}",
        "CompanyName": company,
        "EmailAddresses": {"EmailAddress1": f"{given}.{surname}.{n}@{domain}".lower().replace(" ", "")},
        "PhoneNumbers": {"BusinessPhone": f"+1 555 {rng.randrange(10**7):07d}"},
    }
    title = rng.choice(_TITLES)
    if title:
        contact["JobTitle"] = title
    if rng.random() < 0.3:
        contact["PhoneNumbers"]["MobilePhone"] = f"+1 555 {rng.randrange(10**7):07d}"
    if rng.random() < 0.3:
        city, state, country = rng.choice(_CITIES)
        contact["PhysicalAddresses"] = {"Business": {"Street": f"{rng.randrange(1, 999)} Main St", "City": city,
                                                     "State": state, "CountryOrRegion": country}}
    return contact


def _event(rng: random.Random, series: bool = True) -> dict[str, Any]:
    """A single item (one in ten all-day), or with ``series`` one in twenty a weekly series."""
    day = rng.randrange(-30, 90)
    event: dict[str, Any] = {"Subject": f"{rng.choice(_SUBJECTS)} with {rng.choice(_COMPANIES)}"}
    roll = rng.random()
    if roll < 0.1:
        event["when"] = {"day": day, "all_day": True}
        return event
    hour = rng.randrange(8, 18)
    minutes = rng.choice([0, 30])
    length = rng.choice([30, 60, 90])
    end_total = hour * 60 + minutes + length
    event["when"] = {"day": day, "start": f"{hour:02d}:{minutes:02d}", "end": f"{end_total // 60:02d}:{end_total % 60:02d}"}
    if series and roll < 0.15:
        event["Recurrence"] = _weekly(rng.randrange(2, 12))
    if rng.random() < 0.2:
        event["Location"] = rng.choice(["Teams", "Room 1", "Room 2", "Customer site"])
    return event


def _weekly(occurrences: int) -> dict[str, Any]:
    """The Recurrence of a weekly series of ``occurrences``, as the seed writes it."""
    return {"pattern": "WeeklyRecurrence", "Interval": 1, "range": "NumberedRecurrence",
            "NumberOfOccurrences": occurrences}


def _an_hour_later(clock: str) -> str:
    return f"{int(clock[:2]) + 1:02d}{clock[2:]}"


def _series(rng: random.Random, occurrences: int, exception: bool) -> dict[str, Any]:
    """A timed weekly series of ``occurrences``; with ``exception`` its second occurrence is an
    hour later than the series says."""
    event = _event(rng, series=False)
    if event["when"].get("all_day"):
        event["when"] = {"day": event["when"]["day"], "start": "10:00", "end": "11:00"}
    event["Recurrence"] = _weekly(occurrences)
    if exception and occurrences > 1:
        event["ModifiedOccurrences"] = [{"occurrence": 2, "start": _an_hour_later(event["when"]["start"]),
                                         "end": _an_hour_later(event["when"]["end"])}]
    return event


def _events(rng: random.Random, count: int, recurring: float | None) -> list[dict[str, Any]]:
    """``count`` items (the default mix), or with ``recurring`` a calendar whose window shows
    ``count`` events, ``round(recurring * count)`` of them occurrences of series."""
    if recurring is None:
        return [_event(rng) for _ in range(count)]
    occurrences = round(recurring * count)
    events = [_event(rng, series=False) for _ in range(count - occurrences)]
    series = 0
    while occurrences:
        size = min(rng.randrange(4, 13), occurrences)
        if occurrences - size == 1:   # no series of one occurrence left over
            size += 1
        events.append(_series(rng, size, exception=series % 3 == 2))
        occurrences -= size
        series += 1
    rng.shuffle(events)
    return events


def generate_seed(mailboxes: list[dict[str, Any]], contacts_per_mailbox: int, events_per_mailbox: int,
                  rng: random.Random, recurring: float | None = None) -> dict[str, Any]:
    """An ``exchange`` section: each mailbox (``address``, ``time_zone``) with a Salesforce_Sync folder
    of ``contacts_per_mailbox`` contacts and ``events_per_mailbox`` events (items, or with
    ``recurring`` events as the window shows them, that share occurrences of weekly series), and a
    service account (``svc-reconciler@<first domain>``) that may impersonate all of them."""
    if recurring is not None and not 0.0 <= recurring <= 1.0:
        raise ValueError(f"recurring is a share between 0 and 1, got {recurring}")
    domains = sorted({m["address"].split("@", 1)[1] for m in mailboxes})
    section_mailboxes = []
    for mailbox in mailboxes:
        section_mailboxes.append({
            "address": mailbox["address"],
            "displayName": mailbox.get("display_name") or mailbox["address"].split("@")[0].title(),
            "timeZone": mailbox.get("time_zone", "UTC"),
            "folders": [{"name": "Salesforce_Sync", "parent": "contacts", "folderClass": "IPF.Contact"}],
            "contacts": [_contact(rng, n) for n in range(contacts_per_mailbox)],
            "events": _events(rng, events_per_mailbox, recurring),
        })
    return {
        "domains": domains,
        "serviceAccounts": [{"username": f"svc-reconciler@{domains[0]}" if domains else "svc-reconciler",
                             "impersonates": [m["address"] for m in mailboxes]}],
        "mailboxes": section_mailboxes,
    }
