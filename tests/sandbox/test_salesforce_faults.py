"""Faults as simple-salesforce sees them, per-operation counters, persistence across restarts."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (SalesforceExpiredSession, SalesforceGeneralError,
                                          SalesforceRefusedRequest)

from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.server import Sandbox
from sandbox.salesforce_client import (API_VERSION, client, credentials, record_id, request_token,
                                       running_sandbox, sf, sf_demo_seed, sf_sandbox, sf_seed,
                                       verified_session)

__all__ = ["sf", "sf_demo_seed", "sf_sandbox", "sf_seed"]  # fixtures


def test_request_limit_fault_is_a_refused_request(sf_sandbox: Sandbox, sf: Salesforce) -> None:
    sf_sandbox.faults.add(FaultRule("request_limit", service="salesforce", operation="query", times=1))
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Contact")
    assert refused.value.status == 403
    assert refused.value.content == [{"message": "TotalRequests Limit exceeded.",
                                      "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 25  # the rule fired once


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_503", 503)])
def test_server_errors_are_general_errors(sf_sandbox: Sandbox, sf: Salesforce, kind: str, status: int) -> None:
    sf_sandbox.faults.add(FaultRule(kind, service="salesforce", operation="sobject_create", times=1))  # type: ignore[arg-type]
    with pytest.raises(SalesforceGeneralError) as failed:
        sf.Contact.create({"LastName": "Unlucky"})
    assert failed.value.status == status
    assert sf.query("SELECT COUNT() FROM Contact WHERE LastName = 'Unlucky'")["totalSize"] == 0
    assert sf.Contact.create({"LastName": "Lucky"})["success"]


def test_token_endpoint_faults(sf_sandbox: Sandbox) -> None:
    sf_sandbox.faults.add(FaultRule("http_503", service="salesforce", operation="token", times=1))
    creds = credentials(sf_sandbox)
    form = {"grant_type": "client_credentials", "client_id": creds["clientId"], "client_secret": creds["clientSecret"]}
    assert request_token(sf_sandbox, **form).status_code == 503
    assert request_token(sf_sandbox, **form).status_code == 200


def test_slow_answers_arrive_late(sf_sandbox: Sandbox, sf: Salesforce) -> None:
    sf_sandbox.faults.add(FaultRule("slow", service="salesforce", operation="limits", delay_ms=300, times=1))
    started = time.perf_counter()
    assert sf.limits()["DailyApiRequests"]["Max"] == 100000
    assert time.perf_counter() - started >= 0.3


def test_dropped_connections_raise_connection_errors(sf_sandbox: Sandbox, sf: Salesforce) -> None:
    sf_sandbox.faults.add(FaultRule("drop_connection", service="salesforce", operation="query", times=1))
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.query("SELECT Id FROM Contact")
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 25


def test_counters_name_each_operation(sf_sandbox: Sandbox) -> None:
    sf = client(sf_sandbox)
    contact_id = sf.Contact.create({"LastName": "Counted"})["id"]
    sf.Contact.get(contact_id)
    sf.Contact.update(contact_id, {"Title": "x"})
    sf.Contact.describe()
    sf.query("SELECT Id FROM Lead")
    sf.query_all("SELECT Id FROM Lead", include_deleted=True)
    created = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Lead"}, "LastName": "L", "Company": "C"}]})
    sf.restful("composite/sobjects", method="PATCH", json={"records": [
        {"attributes": {"type": "Lead"}, "id": created[0]["id"], "Title": "T"}]})
    sf.restful("composite/sobjects/Lead", method="GET", params={"ids": created[0]["id"], "fields": "Title"})
    sf.restful("composite/sobjects", method="DELETE", params={"ids": created[0]["id"]})
    sf.Contact.delete(contact_id)
    sf.limits()
    assert sf_sandbox.counters.counts("salesforce") == {
        "composite_create": 1, "composite_delete": 1, "composite_retrieve": 1, "composite_update": 1,
        "describe": 1, "limits": 1, "query": 1, "query_all": 1, "sobject_create": 1, "sobject_delete": 1,
        "sobject_get": 1, "sobject_update": 1, "token": 1}
    composite = [e for e in sf_sandbox.counters.log() if e.operation == "composite_create"]
    assert [(e.status, e.records) for e in composite] == [(200, 1)]


def test_writes_survive_a_restart(tmp_path: Path, sf_seed: dict[str, Any]) -> None:
    data_dir = tmp_path / "sandbox"
    with running_sandbox(data_dir, sf_seed) as first:
        sf = client(first)
        kept = sf.Contact.create({"LastName": "Persistent", "Email": "p@keep.example"})["id"]
        sf.Contact.delete(record_id(sf, "SELECT Id FROM Contact WHERE Email = 'jane.doe@globex.example'"))
        before = sf.Contact.get(kept)
        invite = record_id(sf, "SELECT Id FROM EventRelation WHERE Relation.Email = 'bob@acme.example'")
    assert (data_dir / "salesforce.json").exists()

    with running_sandbox(data_dir, {"salesforce": {}}) as second:  # the seed is ignored once data exists
        sf = client(second)
        assert sf.Contact.get(kept) == before
        assert sf.query("SELECT COUNT() FROM Contact WHERE Email = 'jane.doe@globex.example'")["totalSize"] == 0
        assert sf.query_all("SELECT Id FROM Contact WHERE Email = 'jane.doe@globex.example'",
                            include_deleted=True)["totalSize"] == 1
        newer = sf.Contact.create({"LastName": "After restart"})["id"]
        assert newer > kept  # ids keep counting up: no collision with what was saved
        assert sf.Contact.get(newer)["CreatedDate"] > before["CreatedDate"]
        sf.EventRelation.update(invite, {"Status": "Declined"})  # child-event links were saved too
        assert sf.query("SELECT COUNT() FROM Event WHERE Subject = 'Pipeline review'")["totalSize"] == 1


def test_stale_session_from_another_sandbox_is_refused(sf_sandbox: Sandbox, tmp_path: Path,
                                                       sf_seed: dict[str, Any]) -> None:
    token = client(sf_sandbox).session_id
    with running_sandbox(tmp_path / "other", sf_seed) as other:
        stranger = Salesforce(instance_url=other.base_url, session_id=token, session=verified_session(other),
                              version=API_VERSION)
        with pytest.raises(SalesforceExpiredSession):
            stranger.query("SELECT Id FROM Contact")
