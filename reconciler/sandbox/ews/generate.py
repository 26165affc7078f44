"""Large synthetic mailboxes for benchmarks: an ``exchange`` seed section made from a seeded RNG.

Contacts go to each mailbox's ``Contacts/Salesforce_Sync`` folder (what the sync reads); events spread
over the month before and the quarter after the seeding day, with all-day events and weekly series
among them. The same RNG state gives the same section.
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


def _event(rng: random.Random) -> dict[str, Any]:
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
    if roll < 0.15:
        event["Recurrence"] = {"pattern": "WeeklyRecurrence", "Interval": 1, "range": "NumberedRecurrence",
                               "NumberOfOccurrences": rng.randrange(2, 12)}
    if rng.random() < 0.2:
        event["Location"] = rng.choice(["Teams", "Room 1", "Room 2", "Customer site"])
    return event


def generate_seed(mailboxes: list[dict[str, Any]], contacts_per_mailbox: int, events_per_mailbox: int,
                  rng: random.Random) -> dict[str, Any]:
    """An ``exchange`` section: each mailbox (``address``, ``time_zone``) with a Salesforce_Sync folder
    of ``contacts_per_mailbox`` contacts and ``events_per_mailbox`` events, and a service account
    (``svc-reconciler@<first domain>``) that may impersonate all of them."""
    domains = sorted({m["address"].split("@", 1)[1] for m in mailboxes})
    section_mailboxes = []
    for mailbox in mailboxes:
        section_mailboxes.append({
            "address": mailbox["address"],
            "displayName": mailbox.get("display_name") or mailbox["address"].split("@")[0].title(),
            "timeZone": mailbox.get("time_zone", "UTC"),
            "folders": [{"name": "Salesforce_Sync", "parent": "contacts", "folderClass": "IPF.Contact"}],
            "contacts": [_contact(rng, n) for n in range(contacts_per_mailbox)],
            "events": [_event(rng) for _ in range(events_per_mailbox)],
        })
    return {
        "domains": domains,
        "serviceAccounts": [{"username": f"svc-reconciler@{domains[0]}" if domains else "svc-reconciler",
                             "impersonates": [m["address"] for m in mailboxes]}],
        "mailboxes": section_mailboxes,
    }
