"""Load the ``salesforce`` section of a seed into an empty store.

Section layout (every key optional)::

    integration_user: integration@acme.example   # the API user the OAuth credentials log in as
    daily_api_requests: 100000
    custom_fields: {Contact: [{name: Region__c, type: string, length: 40}]}
    profiles: [Sales User, System Administrator]
    users:    [{username, email, first_name, last_name, profile, time_zone, active}]
    accounts: [{Name: Globex, owner: alice@acme.example, ...any Account field}]
    contacts: [{LastName: Doe, Email: ..., owner: <username>, account: <account Name>, ...}]
    leads:    [{LastName, Company, Email, owner, ...}]
    events:   [{Subject, owner, who: <contact/lead email>, what: <account Name>,
                when: {day: 2, start: "17:00", end: "18:00"} or {day: 5, all_day: true, days: 1},
                invitees: [<username or lead/contact email> or {invitee: ..., status: Accepted}],
                ...any Event field, e.g. StartDateTime/EndDateTime for fixed times}]

Users are written in the same snake_case form the benchmark generator takes; other records use
Salesforce field names plus the lower-case conveniences above. ``when.day`` counts days from
the day the sandbox is seeded (UTC), so the demo calendar is always around "now".
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from .store import SalesforceError, Store, render_datetime

DEFAULT_INTEGRATION_USER = "integration@acme.example"
_ADMIN_PROFILE = "System Administrator"


class SeedError(ValueError):
    """The seed names something that does not exist or breaks a rule of the API."""


def seed_store(store: Store, data: dict[str, Any]) -> str:
    """Fill ``store`` from a seed section; return the integration user's id."""
    # Seeded records get consecutive millisecond stamps ending before now: older than any later
    # write and never in the future, however large the seed. An invitation writes up to four
    # records (relation, parent update, child event), everything else one.
    sized = sum(len(data.get(k) or ()) for k in ("profiles", "users", "accounts", "contacts", "leads", "events"))
    invitations = sum(len(e.get("invitees") or ()) for e in data.get("events") or ())
    store.clock.backdate(time.time_ns() // 1_000_000 - 2 * (sized + 4 * invitations) - 1000)
    store.created_ms = store.clock.last_ms
    try:
        return _load(store, data)
    finally:
        store.clock.resume()


def _load(store: Store, data: dict[str, Any]) -> str:

    for object_name, specs in (data.get("custom_fields") or {}).items():
        for spec in specs:
            store.declare_custom_field(object_name, spec)

    integration = str(data.get("integration_user", DEFAULT_INTEGRATION_USER))
    users = list(data.get("users") or [])
    if not any(str(u.get("username", "")).lower() == integration.lower() for u in users):
        users.insert(0, {"username": integration, "email": integration, "first_name": "Integration",
                         "last_name": "User", "profile": _ADMIN_PROFILE, "time_zone": "UTC"})
    else:  # the integration user is created first: it is CreatedById of everything else
        users.sort(key=lambda u: str(u.get("username", "")).lower() != integration.lower())

    profile_names = list(dict.fromkeys([*(data.get("profiles") or []), _ADMIN_PROFILE,
                                        *(str(u.get("profile", _ADMIN_PROFILE)) for u in users)]))
    loader = _Loader(store)
    first_user = store.new_id(store.schema["user"])  # the integration user's id, known in advance
    loader.actor = first_user
    profiles = {name: loader.create("Profile", {"Name": name}, f"profile {name}") for name in profile_names}
    loader.users = {}
    for index, user in enumerate(users):
        username = str(user["username"])
        profile = str(user.get("profile", _ADMIN_PROFILE))
        values = {"Username": username, "Email": user.get("email", username),
                  "FirstName": user.get("first_name"), "LastName": user.get("last_name") or username,
                  "Alias": (str(user.get("first_name") or "")[:1] + str(user.get("last_name") or username))[:8],
                  "IsActive": bool(user.get("active", True)), "ProfileId": profiles[profile],
                  "TimeZoneSidKey": user.get("time_zone", "UTC")}
        loader.users[username.lower()] = loader.create(
            "User", values, f"user {username}", record_id=first_user if index == 0 else None)

    loader.accounts = {}
    for account in data.get("accounts") or []:
        name = str(account.get("Name"))
        loader.accounts[name] = loader.create("Account", loader.with_owner(account), f"account {name}")
    for contact in data.get("contacts") or []:
        values = loader.with_owner(contact)
        if "account" in values:
            values["AccountId"] = loader.account(values.pop("account"))
        loader.create("Contact", values, f"contact {contact.get('Email') or contact.get('LastName')}")
    for lead in data.get("leads") or []:
        loader.create("Lead", loader.with_owner(lead), f"lead {lead.get('Email') or lead.get('LastName')}")
    for event in data.get("events") or []:
        loader.event(event)
    return first_user


class _Loader:
    """Resolves the seed's conveniences (usernames, account names, emails) and writes records."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.actor = ""
        self.users: dict[str, str] = {}
        self.accounts: dict[str, str] = {}
        self.emails: dict[tuple[str, str], list[str]] | None = None
        self.today = dt.datetime.now(dt.timezone.utc).date()

    def create(self, object_name: str, values: dict[str, Any], what: str, record_id: str | None = None) -> str:
        try:
            write = self.store.prepare_create(object_name, values, self.actor, seeding=True)
        except SalesforceError as error:
            raise SeedError(f"seed {what}: {error.code}: {error.message}") from None
        if record_id is not None:
            write.record_id = record_id
        return self.store.commit(write, self.actor)

    def user(self, username: str) -> str:
        try:
            return self.users[username.lower()]
        except KeyError:
            raise SeedError(f"seed: no user with username {username}") from None

    def account(self, name: str) -> str:
        try:
            return self.accounts[name]
        except KeyError:
            raise SeedError(f"seed: no account named {name}") from None

    def with_owner(self, spec: dict[str, Any]) -> dict[str, Any]:
        values = dict(spec)
        if "owner" in values:
            values["OwnerId"] = self.user(str(values.pop("owner")))
        return values

    def by_email(self, email: str) -> str:
        """A Lead, else a Contact with this email (the order Salesforce matches invitees in)."""
        if self.emails is None:  # built once, after every lead and contact exists
            self.emails = {}
            for object_name in ("lead", "contact"):
                for record in self.store.live(self.store.schema[object_name]):
                    if record.get("Email"):
                        key = (object_name, record["Email"].lower())
                        self.emails.setdefault(key, []).append(record["Id"])
        for object_name in ("lead", "contact"):
            found = self.emails.get((object_name, email.lower()), [])
            if len(found) > 1:
                raise SeedError(f"seed: {len(found)} {object_name}s have the email {email}; name one")
            if found:
                return found[0]
        raise SeedError(f"seed: no lead or contact with the email {email}")

    def event(self, spec: dict[str, Any]) -> None:
        values = self.with_owner(spec)
        invitees = values.pop("invitees", None) or []
        if "who" in values:
            values["WhoId"] = self.by_email(str(values.pop("who")))
        if "what" in values:
            values["WhatId"] = self.account(str(values.pop("what")))
        if "when" in values:
            values.update(self._when(values.pop("when")))
        event_id = self.create("Event", values, f"event {spec.get('Subject')}")
        for invitee in invitees:
            entry = invitee if isinstance(invitee, dict) else {"invitee": invitee}
            name = str(entry["invitee"])
            relation = self.users.get(name.lower()) or self.by_email(name)
            fields = {"EventId": event_id, "RelationId": relation, "Status": entry.get("status", "New")}
            self.create("EventRelation", fields, f"invitee {name} of {spec.get('Subject')}")

    def _when(self, when: dict[str, Any]) -> dict[str, Any]:
        day = self.today + dt.timedelta(days=int(when.get("day", 0)))
        if when.get("all_day"):
            return {"IsAllDayEvent": True, "ActivityDate": day.isoformat(),
                    "DurationInMinutes": 1440 * int(when.get("days", 1))}

        def at(clock: str) -> str:
            return render_datetime(dt.datetime.combine(day, dt.time.fromisoformat(clock), dt.timezone.utc))

        return {"StartDateTime": at(str(when["start"])), "EndDateTime": at(str(when["end"]))}
