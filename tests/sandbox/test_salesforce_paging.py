"""Query locators: 2,000 records a page, batchSize, queryAll over deleted rows."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from reconciler.sandbox.salesforce.generate import generate_seed
from reconciler.sandbox.server import Sandbox
from sandbox.salesforce_client import client, running_sandbox

OWNER = {"username": "owner@acme.example", "email": "owner@acme.example", "first_name": "Olga",
         "last_name": "Owner", "profile": "Sales User", "time_zone": "UTC"}
CONTACTS = 2500


@pytest.fixture(scope="module")
def paged_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    seed = {"salesforce": generate_seed([OWNER], CONTACTS, 0, random.Random(7))}
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), seed) as running:
        yield running


@pytest.fixture
def sf(paged_sandbox: Sandbox) -> Iterator[Salesforce]:
    paged_sandbox.counters.reset()
    yield client(paged_sandbox)


def test_query_all_iter_walks_every_page(paged_sandbox: Sandbox, sf: Salesforce) -> None:
    first = sf.query("SELECT Id, Email FROM Contact")
    assert (first["totalSize"], first["done"], len(first["records"])) == (CONTACTS, False, 2000)
    assert first["nextRecordsUrl"].startswith("/services/data/v61.0/query/01g")
    ids = [r["Id"] for r in sf.query_all_iter("SELECT Id, Email, Owner.Email FROM Contact ORDER BY Email")]
    assert len(ids) == len(set(ids)) == CONTACTS
    assert paged_sandbox.counters.counts("salesforce")["query_more"] == 1


def test_batch_size_header_is_honoured_and_clamped(paged_sandbox: Sandbox, sf: Salesforce) -> None:
    small = sf.query_all("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"})
    assert small["totalSize"] == CONTACTS
    assert paged_sandbox.counters.counts("salesforce")["query_more"] == 4
    tiny = sf.query("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200  # below the minimum: 200


def test_limit_across_pages(sf: Salesforce) -> None:
    limited = sf.query_all("SELECT Id FROM Contact ORDER BY LastName, Id LIMIT 2100")
    assert limited["totalSize"] == 2100


def test_query_all_pages_include_deleted_rows(paged_sandbox: Sandbox, sf: Salesforce) -> None:
    doomed = [r["Id"] for r in sf.query("SELECT Id FROM Contact ORDER BY Id LIMIT 3")["records"]]
    sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(doomed)})
    live = sf.query_all("SELECT Id FROM Contact")
    everything = sf.query_all("SELECT Id, IsDeleted FROM Contact", include_deleted=True)
    assert everything["totalSize"] - live["totalSize"] == 3
    assert {r["Id"] for r in everything["records"] if r["IsDeleted"]} == set(doomed)


def test_unknown_locator(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.query_more("01gDOESNOTEXIST-2000")
    assert refused.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"
