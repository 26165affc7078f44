"""Synthetic ``salesforce`` seed sections for benchmarks: many users, contacts and events.

Deterministic for a given ``random.Random`` state, and cheap: 100,000 contacts are plain dicts
built in well under a second, so benchmark set-up time measures the sandbox, not the generator.
"""

from __future__ import annotations

import random
from typing import Any

_FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gia", "Hugo", "Ines", "Jon", "Kai", "Lena",
          "Milo", "Nora", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tara", "Uma", "Vik", "Wren", "Yara")
_LAST = ("Abbott", "Brooks", "Castro", "Dalton", "Ellis", "Fischer", "Garcia", "Hayes", "Ivanova",
         "Jensen", "Kowalski", "Larsen", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist", "Rossi",
         "Silva", "Tanaka", "Usman", "Varga", "Weber", "Young")
_TITLES = ("CEO", "CFO", "VP Sales", "Buyer", "Engineer", "Analyst", "Office Manager", None, None)
_SUBJECTS = ("Intro call", "Demo", "Contract review", "QBR", "Renewal", "Lunch", "Site visit",
             "Pricing discussion")
_CONTACTS_PER_ACCOUNT = 50


def generate_seed(users: list[dict[str, Any]], contacts_per_user: int, events_per_user: int,
                  rng: random.Random) -> dict[str, Any]:
    """A ``salesforce`` section: the given users (username, email, first_name, last_name, profile,
    time_zone), each owning ``contacts_per_user`` contacts spread over accounts and
    ``events_per_user`` events in the two weeks around the seed day (one in ten all-day)."""
    profiles = sorted({str(u.get("profile", "Sales User")) for u in users} | {"System Administrator"})
    accounts: list[dict[str, Any]] = []
    contacts: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for user_number, user in enumerate(users):
        owner = user["username"]
        account_names = [f"Account {user_number}-{n}"
                         for n in range(max(1, contacts_per_user // _CONTACTS_PER_ACCOUNT))]
        accounts.extend({"Name": name, "owner": owner} for name in account_names)
        for n in range(contacts_per_user):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            contact: dict[str, Any] = {
                "FirstName": first, "LastName": last,
                "Email": f"{first.lower()}.{last.lower()}.{user_number}.{n}@customer{n % 97}.example",
                "Phone": f"+1 555 {rng.randrange(1000000):07d}", "owner": owner,
                "account": account_names[n % len(account_names)],
            }
            title = rng.choice(_TITLES)
            if title is not None:
                contact["Title"] = title
            contacts.append(contact)
        for n in range(events_per_user):
            day = rng.randrange(-7, 8)
            event: dict[str, Any] = {"Subject": f"{rng.choice(_SUBJECTS)} #{n}", "owner": owner}
            if n % 10 == 9:
                event["when"] = {"day": day, "all_day": True}
            else:
                hour = rng.randrange(7, 18)
                event["when"] = {"day": day, "start": f"{hour:02d}:00", "end": f"{hour:02d}:{rng.choice((30, 45))}"}
            events.append(event)
    return {"profiles": profiles, "users": [dict(u) for u in users], "accounts": accounts,
            "contacts": contacts, "events": events}
