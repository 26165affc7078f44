"""Contract tests: who may reach which mailbox, how failures look to exchangelib, and what persists."""

from __future__ import annotations

from pathlib import Path

import pytest
from exchangelib import Contact, FaultTolerance
from exchangelib.protocol import close_connections
from exchangelib.errors import (MalformedResponseError, UnauthorizedError, ErrorImpersonateUserDenied, ErrorInvalidOperation, ErrorItemSave,
                                ErrorNameResolutionNoResults, ErrorNonExistentMailbox, ErrorServerBusy,
                                ErrorTimeoutExpired)
from sandbox.ews_client import basic_account, exchange, trusting_sandbox, verified_session

from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.server import Sandbox, load_seed


def test_the_service_account_may_not_impersonate_frank_or_a_stranger(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        with pytest.raises(ErrorImpersonateUserDenied):
            basic_account(sandbox, "frank@acme.example").contacts.refresh()
        with pytest.raises(ErrorNonExistentMailbox):
            basic_account(sandbox, "nobody@acme.example").contacts.refresh()
        assert basic_account(sandbox, "dave@acme.example").contacts.total_count == 0


def test_a_wrong_password_is_a_401_with_a_basic_challenge(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        # The sandbox keeps connections alive as IIS does, so exchangelib sees the 401 itself.
        with pytest.raises(UnauthorizedError):
            basic_account(sandbox, "alice@acme.example", password="wrong").contacts.refresh()
    response = verified_session(sandbox).post(sandbox.endpoints()["exchange"]["ewsUrl"], data=b"<x/>",
                                              auth=("svc-reconciler@acme.example", "wrong"))
    assert response.status_code == 401
    assert 'Basic realm="reconciler sandbox EWS"' in response.headers["WWW-Authenticate"]
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_resolve_names_finds_mailboxes_by_address_or_name_prefix(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        protocol = basic_account(sandbox, "alice@acme.example").protocol
        [bob] = protocol.resolve_names(["bob@acme.example"])
        assert (bob.name, bob.email_address) == ("Bob Baker", "bob@acme.example")
        [carol] = protocol.resolve_names(["Carol"])
        assert carol.email_address == "carol@acme.example"
        [missing] = protocol.resolve_names(["erin@partner.example"])
        assert isinstance(missing, ErrorNameResolutionNoResults)


def test_server_busy_carries_back_off_milliseconds(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule("server_busy", service="exchange", operation="FindItem", back_off_ms=2500, times=1))
    with trusting_sandbox(sandbox):
        alice = basic_account(sandbox, "alice@acme.example")
        with pytest.raises(ErrorServerBusy) as raised:
            list(alice.contacts.all())
        assert raised.value.back_off == 2.5
        sandbox.faults.add(FaultRule("server_busy", service="exchange", operation="FindItem", back_off_ms=50,
                                     times=1))
        close_connections()  # exchangelib caches one protocol (and retry policy) per endpoint and credentials
        patient = basic_account(sandbox, "alice@acme.example", retry_policy=FaultTolerance(max_wait=5))
        assert len(list(patient.contacts.all())) == 1  # retried after 50 ms, then answered
    assert sandbox.counters.counts("exchange")["FindItem"] == 3


@pytest.mark.parametrize("kind, error", [
    # a plain-text 500 is no SOAP fault: exchangelib cannot parse it; a 503 reads as busy
    ("http_500", MalformedResponseError),
    ("http_503", ErrorServerBusy),
    ("drop_connection", (ErrorServerBusy, ErrorTimeoutExpired)),
])
def test_generic_faults_as_exchangelib_sees_them(sandbox: Sandbox, kind: str, error: type) -> None:
    sandbox.faults.add(FaultRule(kind, service="exchange", operation="GetFolder", times=1))
    with trusting_sandbox(sandbox):
        with pytest.raises(error):
            basic_account(sandbox, "alice@acme.example").contacts.refresh()
        assert basic_account(sandbox, "alice@acme.example").contacts.name == "Contacts"


def test_one_failing_record_in_a_bulk_create_leaves_the_others_created(sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule("record_failure", service="exchange", operation="CreateItem", after=2, times=1))
    with trusting_sandbox(sandbox):
        alice = basic_account(sandbox, "alice@acme.example")
        folder = alice.contacts / "Salesforce_Sync"
        results = alice.bulk_create(folder=folder, items=[Contact(display_name=f"Batch {n}") for n in range(5)])
        assert [isinstance(r, ErrorItemSave) for r in results] == [False, False, True, False, False]
        names = {c.display_name for c in folder.filter(display_name__istartswith="Batch")}
        assert names == {"Batch 0", "Batch 1", "Batch 3", "Batch 4"}


def test_operations_the_sandbox_lacks_are_a_soap_fault_that_says_so(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        with pytest.raises(ErrorInvalidOperation, match="does not implement the EWS operation GetUserOofSettings"):
            basic_account(sandbox, "alice@acme.example").oof_settings


def test_counters_count_each_operation(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        alice = basic_account(sandbox, "alice@acme.example")
        sandbox.counters.reset()
        folder = alice.contacts / "Salesforce_Sync"
        Contact(folder=folder, display_name="Counted").save()
        list(folder.all().only("display_name"))
    counts = sandbox.counters.counts("exchange")
    assert counts["CreateItem"] == 1 and counts["FindItem"] == 1 and counts["FindFolder"] >= 1
    created = [r for r in sandbox.counters.log() if r.operation == "CreateItem"]
    assert [(r.status, r.records) for r in created] == [(200, 1)]


def test_a_restart_with_the_same_data_dir_keeps_items_credentials_and_sync_states(tmp_path: Path) -> None:
    data_dir = tmp_path / "sandbox"
    with Sandbox(data_dir=data_dir, seed=load_seed(None)) as first, trusting_sandbox(first):
        password = first.endpoints()["exchange"]["credentials"]["serviceAccountPassword"]
        alice = basic_account(first, "alice@acme.example")
        folder = alice.contacts / "Salesforce_Sync"
        list(folder.sync_items())
        state = folder.item_sync_state
        Contact(folder=folder, display_name="Survivor").save()
    assert (data_dir / "exchange.json").exists()
    secret = (data_dir / "secrets" / "exchange.serviceAccountPassword")
    assert secret.read_text() == password and secret.stat().st_mode & 0o777 == 0o600

    with Sandbox(data_dir=data_dir, seed={}) as second, trusting_sandbox(second):
        assert second.endpoints()["exchange"]["credentials"]["serviceAccountPassword"] == password
        folder = basic_account(second, "alice@acme.example").contacts / "Salesforce_Sync"
        assert [(kind, item.display_name) for kind, item in folder.sync_items(sync_state=state,
                                                                               only_fields=["display_name"])] == [
            ("create", "Survivor")]
        assert [e["subject"] for e in exchange(second).outbox()] == ["Initech kickoff"]


def test_ews_endpoints_name_the_url_domains_and_service_account(sandbox: Sandbox) -> None:
    doc = sandbox.endpoints()["exchange"]
    assert doc["ewsUrl"] == f"{sandbox.base_url}/EWS/Exchange.asmx"
    assert doc["domains"] == ["acme.example"]
    assert doc["credentials"]["serviceAccountUsername"] == "svc-reconciler@acme.example"
    assert len(doc["credentials"]["serviceAccountPassword"]) >= 20
    response = verified_session(sandbox).get(doc["ewsUrl"], auth=("svc-reconciler@acme.example",
                                                                  doc["credentials"]["serviceAccountPassword"]))
    assert response.status_code == 405
