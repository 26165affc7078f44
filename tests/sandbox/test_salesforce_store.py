"""The emulator's store and query planner without HTTP: ids, clock, indexes, seeding, generation."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from reconciler.sandbox.salesforce.generate import generate_seed
from reconciler.sandbox.salesforce.query import QueryRunner
from reconciler.sandbox.salesforce.seed import SeedError, seed_store
from reconciler.sandbox.salesforce.soql import parse
from reconciler.sandbox.salesforce.store import Clock, Store, id_checksum, normalize_id
from reconciler.sandbox.server import load_seed

USERS = [{"username": f"rep{n}@acme.example", "email": f"rep{n}@acme.example", "first_name": "Rep",
          "last_name": str(n), "profile": "Sales User", "time_zone": "UTC"} for n in range(4)]


@pytest.fixture(scope="module")
def demo() -> tuple[Store, str]:
    store = Store()
    return store, seed_store(store, load_seed(None)["salesforce"])


def run(store: Store, soql: str) -> list[dict[str, Any]]:
    runner = QueryRunner(store)
    compiled = runner.compile(parse(soql))
    return [runner.render(compiled, store.get(i) or {}, "61.0") for i in runner.run(compiled, False)]


def test_ids_carry_the_case_checksum() -> None:
    assert id_checksum("001A0000006Vm9r") == "IAC"  # an Account id as Salesforce prints it: 001A0000006Vm9rIAC
    assert normalize_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert normalize_id("001A0000006Vm9rIAC") == "001A0000006Vm9rIAC"
    assert normalize_id("not an id") is None


def test_clock_strictly_increases_within_one_millisecond() -> None:
    clock = Clock()
    stamps = [clock.tick() for _ in range(1000)]
    assert all(b > a for a, b in zip(stamps, stamps[1:]))
    assert clock.now_ms() >= stamps[-1]


def test_the_demo_cast(demo: tuple[Store, str]) -> None:
    store, integration_id = demo
    users = {r["Username"]: r for r in run(store, "SELECT Username, Email, Name, IsActive, TimeZoneSidKey, "
                                                  "Profile.Name FROM User")}
    assert store.get(integration_id)["Username"] == "integration@acme.example"  # type: ignore[index]
    assert users["bob.sf@acme.example.crm"]["Email"] == "bob@acme.example"
    assert users["dave@acme.example"]["IsActive"] is False
    assert users["erin@acme.example"]["Email"] == "erin@partner.example"
    assert users["integration@acme.example"]["Profile"]["Name"] == "System Administrator"
    assert users["carol@acme.example"]["TimeZoneSidKey"] == "Pacific/Auckland"
    alice = [r["Email"] for r in run(store, "SELECT Email FROM Contact WHERE Owner.Username = 'alice@acme.example'")]
    for pairing in ("jane.doe@globex.example", "raj.patel@initech.example", "li.wei@umbrella.example"):
        assert pairing in alice
    assert alice.count("dup@hooli.example") == 2
    assert len(run(store, "SELECT Id FROM Account")) == 8
    assert len(run(store, "SELECT Id FROM Lead")) == 5
    assert len(run(store, "SELECT Id FROM Event WHERE IsChild = false")) == 11
    assert all(r["SystemModstamp"] < time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() + 1))
               for t in store.tables.values() for r in t.values())


def test_owner_and_id_filters_read_the_index(demo: tuple[Store, str]) -> None:
    store, _ = demo
    runner = QueryRunner(store)
    alice = run(store, "SELECT Id FROM User WHERE Username = 'alice@acme.example'")[0]["Id"]
    owned = runner.compile(parse(f"SELECT Id FROM Contact WHERE OwnerId = '{alice}' AND Email != null"))
    assert len(list(owned.candidates())) == 11  # alice's contacts only, not the whole table
    newest = runner.compile(parse("SELECT Id FROM Contact WHERE SystemModstamp > 2000-01-01T00:00:00Z"))
    assert len(list(newest.candidates())) == 25
    future = runner.compile(parse("SELECT Id FROM Contact WHERE SystemModstamp > 2100-01-01T00:00:00Z"))
    assert list(future.candidates()) == []


def test_seed_errors_name_the_problem() -> None:
    with pytest.raises(SeedError, match="no user with username ghost@acme.example"):
        seed_store(Store(), {"contacts": [{"LastName": "X", "owner": "ghost@acme.example"}]})
    with pytest.raises(SeedError, match="REQUIRED_FIELD_MISSING"):
        seed_store(Store(), {"accounts": [{"Phone": "1"}]})


def test_generated_seed_is_deterministic_and_loads() -> None:
    section = generate_seed(USERS, 120, 10, random.Random(3))
    assert section == generate_seed(USERS, 120, 10, random.Random(3))
    assert (len(section["contacts"]), len(section["events"])) == (480, 40)
    store = Store()
    seed_store(store, section)
    per_owner = run(store, "SELECT COUNT() FROM Contact WHERE Owner.Username = 'rep2@acme.example'")
    assert len(per_owner) == 120
    assert len(run(store, "SELECT Id FROM Event WHERE IsAllDayEvent = true")) == 4


def test_a_hundred_thousand_contacts_generate_quickly() -> None:
    started = time.perf_counter()
    section = generate_seed(USERS, 25_000, 0, random.Random(1))
    assert len(section["contacts"]) == 100_000
    assert len({c["Email"] for c in section["contacts"]}) == 100_000
    assert time.perf_counter() - started < 10  # a bound against accidental quadratic work, not a benchmark
