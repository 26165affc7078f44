"""sObject Collections, getUpdated / getDeleted and the API request counter."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceRefusedRequest

from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.server import Sandbox
from sandbox.salesforce_client import client, running_sandbox, sf, sf_demo_seed, sf_sandbox, sf_seed

__all__ = ["sf", "sf_demo_seed", "sf_sandbox", "sf_seed"]  # fixtures


def contacts(n: int, prefix: str = "Batch") -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Contact"}, "LastName": f"{prefix}{i}", "Email": f"{prefix.lower()}{i}@b.example"}
            for i in range(n)]


def create(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False) -> list[dict[str, Any]]:
    return sf.restful("composite/sobjects", method="POST", json={"allOrNone": all_or_none, "records": records})


def count(sf: Salesforce, where: str) -> int:
    return int(sf.query(f"SELECT COUNT() FROM Contact WHERE {where}")["totalSize"])


def test_create_update_delete_200_records(sf: Salesforce) -> None:
    created = create(sf, contacts(200))
    assert len(created) == 200 and all(r["success"] and r["id"].startswith("003") for r in created)
    ids = [r["id"] for r in created]
    updated = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Contact"}, "id": i, "Title": "Batched"} for i in ids]})
    assert [r["id"] for r in updated] == ids and all(r["success"] for r in updated)
    assert count(sf, "Title = 'Batched'") == 200
    deleted = sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(ids[:150]),
                                                                          "allOrNone": "false"})
    assert [r["id"] for r in deleted] == ids[:150] and all(r["success"] for r in deleted)
    assert count(sf, "Title = 'Batched'") == 50


def test_more_than_200_records_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        create(sf, contacts(201))
    assert refused.value.content == [{"message": "Maximum number of records is 200", "errorCode": "EXCEEDED_ID_LIMIT"}]
    assert count(sf, "LastName LIKE 'Batch%'") == 0


def test_without_all_or_none_the_good_records_are_kept(sf: Salesforce) -> None:
    records = contacts(3)
    records[1] = {"attributes": {"type": "Contact"}, "FirstName": "No last name"}
    results = create(sf, records)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"] == [{"statusCode": "REQUIRED_FIELD_MISSING",
                                     "message": "Required fields are missing: [LastName]", "fields": ["LastName"]}]
    assert count(sf, "LastName LIKE 'Batch%'") == 2


def test_all_or_none_rolls_everything_back(sf: Salesforce) -> None:
    records = contacts(3)
    records[2]["Email"] = "broken"
    results = create(sf, records, all_or_none=True)
    assert [r["success"] for r in results] == [False, False, False]
    assert [r["errors"][0]["statusCode"] for r in results] == [
        "ALL_OR_NONE_OPERATION_ROLLED_BACK", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "INVALID_EMAIL_ADDRESS"]
    assert count(sf, "LastName LIKE 'Batch%'") == 0
    assert all(r["success"] for r in create(sf, contacts(3), all_or_none=True))
    assert count(sf, "LastName LIKE 'Batch%'") == 3


def test_updates_report_unknown_ids_per_record(sf: Salesforce) -> None:
    [good] = create(sf, contacts(1))
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "id": good["id"], "Title": "Kept"},
        {"attributes": {"type": "Contact"}, "id": "003000000000000AAA", "Title": "Lost"}]})
    assert results[0] == {"id": good["id"], "success": True, "errors": []}
    assert results[1]["success"] is False and results[1]["id"] == "003000000000000AAA"


def test_record_failure_fault_fails_one_record(sf_sandbox: Sandbox, sf: Salesforce) -> None:
    sf_sandbox.faults.add(FaultRule("record_failure", service="salesforce", operation="composite_create",
                                    after=1, times=1))
    results = create(sf, contacts(3))
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    sf_sandbox.faults.add(FaultRule("record_failure", service="salesforce", operation="composite_create",
                                    times=1))
    rolled_back = create(sf, contacts(3, "Again"), all_or_none=True)
    assert [r["errors"][0]["statusCode"] for r in rolled_back] == [
        "UNABLE_TO_LOCK_ROW", "ALL_OR_NONE_OPERATION_ROLLED_BACK", "ALL_OR_NONE_OPERATION_ROLLED_BACK"]
    assert count(sf, "LastName LIKE 'Again%'") == 0


def test_retrieve_by_ids(sf: Salesforce) -> None:
    ids = [r["id"] for r in create(sf, contacts(3))]
    sf.Contact.delete(ids[1])
    found = sf.restful("composite/sobjects/Contact", method="GET",
                       params={"ids": ",".join(ids), "fields": "LastName,Email"})
    assert found[1] is None
    assert [(r["LastName"], r["Email"]) for r in (found[0], found[2])] == [
        ("Batch0", "batch0@b.example"), ("Batch2", "batch2@b.example")]


def test_updated_and_deleted_feeds(sf: Salesforce) -> None:
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    ids = [r["id"] for r in create(sf, contacts(3))]
    sf.Contact.delete(ids[0])
    sf.Contact.update(ids[1], {"Title": "Changed"})
    end = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
    updated = sf.Contact.updated(start, end)
    # The start is rounded down to the minute, so records seeded moments ago may be listed too.
    assert set(ids[1:]) <= set(updated["ids"]) and ids[0] not in updated["ids"]
    assert updated["latestDateCovered"].endswith("+0000")
    deleted = sf.Contact.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [ids[0]]
    assert set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    assert deleted["earliestDateAvailable"] < deleted["latestDateCovered"]  # nothing purged since the seed
    queried = sf.query_all(f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{ids[0]}'", include_deleted=True)
    assert queried["records"][0]["IsDeleted"] is True
    assert sf.query(f"SELECT COUNT() FROM Contact WHERE Id = '{ids[0]}'")["totalSize"] == 0
    assert sf.Contact.updated(start - dt.timedelta(days=16), end)["ids"]  # getUpdated reaches 30 days back
    for feed, days in ((sf.Contact.updated, 31), (sf.Contact.deleted, 16)):  # getDeleted only 15
        with pytest.raises(SalesforceMalformedRequest) as too_old:
            feed(start - dt.timedelta(days=days), end)
        assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_deleting_an_account_deletes_its_contacts(sf: Salesforce) -> None:
    account_id = sf.query("SELECT Id FROM Account WHERE Name = 'Soylent'")["records"][0]["Id"]
    assert count(sf, f"AccountId = '{account_id}'") == 2
    sf.Account.delete(account_id)
    assert count(sf, f"AccountId = '{account_id}'") == 0


def test_limits_count_rest_calls(sf_sandbox: Sandbox, sf: Salesforce) -> None:
    before = sf.limits()["DailyApiRequests"]
    assert before["Max"] == 100000
    for _ in range(3):
        sf.query("SELECT COUNT() FROM Lead")
    after = sf.limits()["DailyApiRequests"]
    assert before["Remaining"] - after["Remaining"] == 4  # three queries and the limits call itself
    assert sf.api_usage["api-usage"].used == after["Max"] - after["Remaining"]


def test_daily_limit_exhausted(sf_seed: dict[str, Any], tmp_path: Path) -> None:
    sf_seed["salesforce"]["daily_api_requests"] = 3
    with running_sandbox(tmp_path / "sandbox", sf_seed) as sandbox:
        limited = client(sandbox)
        for _ in range(3):
            limited.query("SELECT COUNT() FROM Lead")
        with pytest.raises(SalesforceRefusedRequest) as refused:
            limited.query("SELECT COUNT() FROM Lead")
        assert refused.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
