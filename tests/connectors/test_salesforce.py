"""Contract tests: the Salesforce connector with the real simple-salesforce client over HTTPS to the
sandbox org, certificate verification on."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from reconciler.connectors.errors import ConnectorError, CursorExpired, ErrorKind
from reconciler.connectors.http import ApiCallCounter
from reconciler.connectors.retry import BackOff
from reconciler.connectors.salesforce import SalesforceConnector, SalesforceContactStore, change_cursor_since
from reconciler.connectors.settings import SalesforceSettings
from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.server import Sandbox
from reconciler.sync.ports import CreateOp, DeleteOp, UpdateOp, WriteStatus

Settings = Callable[..., SalesforceSettings]


@pytest.fixture
def connector(salesforce_settings: Settings, counter: ApiCallCounter, backoff: BackOff) -> SalesforceConnector:
    return SalesforceConnector(salesforce_settings("client_credentials"), counter, backoff)


@pytest.fixture
def alice_store(connector: SalesforceConnector) -> SalesforceContactStore:
    alice = connector.users_by_username(["alice@acme.example"])["alice@acme.example"]
    return connector.contact_store(alice.id)


def _all_pages(store: SalesforceContactStore, cursor: str | None = None) -> tuple[list[Any], list[str], list[str], str]:
    records, deleted, departed = [], [], []
    while True:
        page = store.list_changes(cursor)
        records += page.records
        deleted += page.deleted_ids
        departed += page.departed_ids
        cursor = page.cursor
        if page.complete:
            return records, deleted, departed, cursor


# -- authentication -------------------------------------------------------------------------------

@pytest.mark.parametrize("auth_type", ["jwt_bearer", "client_credentials", "password"])
def test_each_auth_type_logs_in_and_queries(auth_type: str, salesforce_settings: Settings,
                                            counter: ApiCallCounter) -> None:
    connector = SalesforceConnector(salesforce_settings(auth_type), counter)
    users = connector.users_by_username(["integration@acme.example"])
    assert users["integration@acme.example"].profile_name == "System Administrator"
    assert counter.counts() == {"query": 1, "token": 1}


def test_verification_uses_the_sandbox_ca_not_the_environment(salesforce_settings: Settings) -> None:
    settings = salesforce_settings("client_credentials")
    connector = SalesforceConnector(settings)
    assert connector.session.trust_env is False
    assert connector.session.verify == str(settings.ca_file)


def test_wrong_secret_is_an_authentication_error_that_never_shows_the_secret(
        salesforce_settings: Settings, tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    marker = "MARKER-d41d8cd98f00b204"
    monkeypatch.setenv("SF_PASSWORD", marker)
    settings = salesforce_settings("password", password={"secretRef": {"env": "SF_PASSWORD"}})
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectorError) as caught:
        SalesforceConnector(settings).login()
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    assert "password" in caught.value.fix
    shown = f"{caught.value} {caught.value!r} {settings!r}"
    assert marker not in shown
    assert marker not in caplog.text
    assert "Secret(env SF_PASSWORD)" in repr(settings)


def test_expired_session_is_renewed_once(connector: SalesforceConnector, sandbox: Sandbox,
                                         counter: ApiCallCounter) -> None:
    connector.users_by_username(["alice@acme.example"])
    sandbox.services["salesforce"].revoke_sessions()
    assert "alice@acme.example" in connector.users_by_username(["alice@acme.example"])
    assert counter.counts()["token"] == 2


# -- directory --------------------------------------------------------------------------------------

def test_directory_lookups(connector: SalesforceConnector) -> None:
    users = connector.users_by_username(["bob.sf@acme.example.crm", "nobody@acme.example"])
    assert set(users) == {"bob.sf@acme.example.crm"}
    bob = users["bob.sf@acme.example.crm"]
    assert (bob.email, bob.profile_name, bob.time_zone, bob.is_active) == (
        "bob@acme.example", "Sales Manager", "Europe/London", True)

    sales = {u.username: u.is_active for u in connector.users_by_profile(["Sales User"])}
    assert sales == {"alice@acme.example": True, "carol@acme.example": True, "dave@acme.example": False}

    accounts = connector.accounts_by_name(["Globex", "globex", "No Such Co"])
    assert accounts["Globex"] and accounts["Globex"] == accounts["globex"]
    assert accounts["No Such Co"] is None


def test_an_account_name_shared_by_two_accounts_links_nothing(connector: SalesforceConnector) -> None:
    connector.call("seeding", lambda sf: sf.Account.create({"Name": "Globex"}))
    assert connector.accounts_by_name(["Globex"]) == {"Globex": None}


# -- listing ----------------------------------------------------------------------------------------

def test_full_listing_holds_the_owned_data_set_with_relationship_fields(alice_store: SalesforceContactStore) -> None:
    records, deleted, departed, _ = _all_pages(alice_store)
    by_email = {r.fields["Email"]: r for r in records}
    assert len(records) >= 10 and not deleted and not departed
    jane = by_email["jane.doe@globex.example"]
    assert jane.fields["Account.Name"] == "Globex"
    assert jane.fields["MailingCity"] == "Springfield"
    assert jane.version and jane.modified_at is not None
    assert all(r.fields["OwnerId"] == alice_store.owner_id for r in records)


def test_filters_narrow_the_data_set(connector: SalesforceConnector, alice_store: SalesforceContactStore) -> None:
    store = connector.contact_store(alice_store.owner_id, "owned",
                                    [{"field": "Email", "operator": "starts_with", "value": "raj"}])
    records, _, _, _ = _all_pages(store)
    assert [r.fields["Email"] for r in records] == ["raj.patel@initech.example"]


def _retitle_raj_delete_peter_and_give_milton_to_carol(
        connector: SalesforceConnector, alice_store: SalesforceContactStore) -> tuple[str, Any, Any, Any, Any]:
    """Lists alice's contacts, then makes one change of each kind an incremental listing must report.

    Returns the cursor from before the changes, the three contacts touched and carol (milton's new owner).
    """
    records, _, _, cursor = _all_pages(alice_store)
    by_email = {r.fields["Email"]: r for r in records}
    raj, peter, milton = (by_email[e] for e in ("raj.patel@initech.example", "peter.gibbons@initech.example",
                                                 "milton@initech.example"))
    carol = connector.users_by_username(["carol@acme.example"])["carol@acme.example"]
    results = alice_store.write([UpdateOp(raj.id, raj.version, {"Title": "CTO"}),
                                 DeleteOp(peter.id, peter.version)])
    assert [r.status for r in results] == [WriteStatus.OK, WriteStatus.OK]
    connector.call("moving a contact", lambda sf: sf.Contact.update(milton.id, {"OwnerId": carol.id}))
    return cursor, raj, peter, milton, carol


def test_incremental_listing_reports_changes_deletes_and_departures(
        connector: SalesforceConnector, alice_store: SalesforceContactStore, counter: ApiCallCounter) -> None:
    cursor, raj, peter, milton, _ = _retitle_raj_delete_peter_and_give_milton_to_carol(connector, alice_store)

    counter.reset()
    changed, deleted, departed, _ = _all_pages(alice_store, cursor)
    assert {r.id: r.fields["Title"] for r in changed}[raj.id] == "CTO"
    assert peter.id in deleted
    assert milton.id in departed and raj.id not in departed  # ids never in the data set are ignored upstream
    # One SOQL for changes, one for departures, one getDeleted: a constant cost per cycle.
    assert counter.counts() == {"query": 2, "sobjects/deleted": 1}


def test_the_org_feed_serves_each_owner_its_share_with_no_call_of_its_own(
        connector: SalesforceConnector, alice_store: SalesforceContactStore, counter: ApiCallCounter) -> None:
    cursor, raj, peter, milton, carol = _retitle_raj_delete_peter_and_give_milton_to_carol(connector, alice_store)
    since = change_cursor_since(cursor)
    assert since is not None

    counter.reset()
    [feed] = connector.change_feeds("Contact", {"": alice_store.fields}, since).values()
    assert counter.counts() == {"query": 1, "sobjects/deleted": 1}   # for every user of the org at once
    counter.reset()
    alice = connector.contact_store(alice_store.owner_id, feed=feed)
    carols = connector.contact_store(carol.id, feed=feed)
    changed, deleted, departed, next_cursor = _all_pages(alice, cursor)
    carol_changed, _, carol_departed, _ = _all_pages(carols, cursor)
    assert counter.counts() == {}
    assert {r.id: r.fields["Title"] for r in changed}[raj.id] == "CTO" and milton.id not in {r.id for r in changed}
    assert peter.id in deleted
    assert milton.id in departed and raj.id not in departed
    assert milton.id in {r.id for r in carol_changed} and raj.id in carol_departed
    assert change_cursor_since(next_cursor) == datetime.fromisoformat(feed.next_since)

    # A store whose fields or filter the feed did not read asks Salesforce itself.
    filtered = connector.contact_store(alice_store.owner_id, "owned",
                                       [{"field": "Email", "operator": "starts_with", "value": "raj"}], feed=feed)
    _all_pages(filtered, cursor)
    assert counter.counts() == {"query": 2, "sobjects/deleted": 1}


def test_fetch_stays_in_the_data_set_and_look_up_tells_departed_from_deleted(
        connector: SalesforceConnector, alice_store: SalesforceContactStore) -> None:
    records, _, _, _ = _all_pages(alice_store)
    by_email = {r.fields["Email"]: r for r in records}
    raj, peter, milton = (by_email[e] for e in ("raj.patel@initech.example", "peter.gibbons@initech.example",
                                                 "milton@initech.example"))
    carol = connector.users_by_username(["carol@acme.example"])["carol@acme.example"]
    connector.call("moving a contact", lambda sf: sf.Contact.update(milton.id, {"OwnerId": carol.id}))
    [deleted] = alice_store.write([DeleteOp(peter.id, peter.version)])
    assert deleted.status is WriteStatus.OK
    filtered = connector.contact_store(alice_store.owner_id, "owned",
                                       [{"field": "Email", "operator": "starts_with", "value": "raj"}])

    assert [r.id for r in alice_store.fetch([raj.id, peter.id, milton.id])] == [raj.id]
    assert [r.id for r in filtered.fetch([raj.id, peter.id, milton.id])] == [raj.id]
    found = alice_store.look_up([raj.id, peter.id, milton.id])
    assert [r.id for r in found.records] == [raj.id]
    assert found.departed_ids == [milton.id] and found.missing_ids == [peter.id]
    assert filtered.look_up([by_email["jane.doe@globex.example"].id]).departed_ids == [
        by_email["jane.doe@globex.example"].id]


def test_contacts_created_for_a_user_are_owned_by_that_user(alice_store: SalesforceContactStore) -> None:
    [created] = alice_store.write([CreateOp({"LastName": "Owned", "Email": "owned@example.org"})])
    assert created.status is WriteStatus.OK and created.record_id
    [record] = alice_store.fetch([created.record_id])
    assert record.fields["OwnerId"] == alice_store.owner_id


def test_full_listing_pages_by_2000(sandbox_seed: dict, salesforce_settings: Settings, sandbox: Sandbox) -> None:
    connector = SalesforceConnector(salesforce_settings("client_credentials"))
    alice = connector.users_by_username(["alice@acme.example"])["alice@acme.example"]
    store = connector.contact_store(alice.id, "owned")
    created = 0
    while created < 2100:
        batch = [CreateOp({"LastName": f"Bulk {created + i}", "OwnerId": alice.id}) for i in range(200)]
        assert all(r.status is WriteStatus.OK for r in store.write(batch))
        created += 200
    pages = []
    cursor = None
    while True:
        page = store.list_changes(cursor)
        pages.append(len(page.records))
        cursor = page.cursor
        if page.complete:
            break
    assert len(pages) == 2 and pages[0] == 2000 and sum(pages) >= 2200


def test_a_cursor_older_than_getdeleted_reaches_asks_for_a_full_listing(alice_store: SalesforceContactStore) -> None:
    _, _, _, cursor = _all_pages(alice_store)
    state = json.loads(base64.urlsafe_b64decode(cursor))
    state["since"] = (datetime.now(timezone.utc) - timedelta(days=16)).isoformat()
    old = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
    with pytest.raises(CursorExpired, match="15 days"):
        alice_store.list_changes(old)


# -- writes -----------------------------------------------------------------------------------------

def test_450_creates_take_three_collection_calls(alice_store: SalesforceContactStore, sandbox: Sandbox) -> None:
    ops = [CreateOp({"LastName": f"Batch {i}", "Email": f"batch{i}@example.org"}) for i in range(450)]
    sandbox.counters.reset()
    results = [r for start in range(0, 450, alice_store.max_batch)
               for r in alice_store.write(ops[start:start + alice_store.max_batch])]
    assert len(results) == 450 and all(r.status is WriteStatus.OK and r.record_id and r.version for r in results)
    assert sandbox.counters.counts("salesforce")["composite_create"] == 3


def test_a_record_that_moved_after_the_plan_is_a_conflict(
        connector: SalesforceConnector, alice_store: SalesforceContactStore) -> None:
    records, _, _, _ = _all_pages(alice_store)
    target, other = records[0], records[1]
    connector.call("someone edits", lambda sf: sf.Contact.update(target.id, {"Title": "Edited meanwhile"}))
    results = alice_store.write([UpdateOp(target.id, target.version, {"Title": "Ours"}),
                                 UpdateOp(other.id, other.version, {"Title": "Ours"}),
                                 DeleteOp(target.id, target.version)])
    assert [r.status for r in results] == [WriteStatus.CONFLICT, WriteStatus.OK, WriteStatus.CONFLICT]
    fresh = {r.id: r for r in alice_store.fetch([target.id, other.id])}
    assert fresh[target.id].fields["Title"] == "Edited meanwhile"
    assert fresh[other.id].fields["Title"] == "Ours" and fresh[other.id].version == results[1].version


def test_update_of_a_deleted_record_is_not_found(alice_store: SalesforceContactStore) -> None:
    records, _, _, _ = _all_pages(alice_store)
    target = records[0]
    assert alice_store.write([DeleteOp(target.id, target.version)])[0].status is WriteStatus.OK
    assert alice_store.write([UpdateOp(target.id, target.version, {"Title": "x"})])[0].status is WriteStatus.NOT_FOUND
    assert alice_store.fetch([target.id]) == []


def test_company_name_links_the_account_only_when_exactly_one_matches(alice_store: SalesforceContactStore) -> None:
    results = alice_store.write([CreateOp({"LastName": "Linked", "Account.Name": "Initech"}),
                                 CreateOp({"LastName": "Unlinked", "Account.Name": "Nobody Inc"})])
    linked, unlinked = alice_store.fetch([r.record_id for r in results if r.record_id])
    assert linked.fields["Account.Name"] == "Initech"
    assert unlinked.fields["AccountId"] is None


def test_per_record_failures_are_mapped(alice_store: SalesforceContactStore, sandbox: Sandbox) -> None:
    sandbox.faults.add(FaultRule("record_failure", service="salesforce", operation="composite_create", times=1))
    results = alice_store.write([CreateOp({"LastName": "One"}), CreateOp({"LastName": "Two"}),
                                 CreateOp({"FirstName": "No last name"})])
    statuses = [(r.status, r.retryable) for r in results]
    assert statuses.count((WriteStatus.FAILED, True)) == 1        # UNABLE_TO_LOCK_ROW: try again
    assert (WriteStatus.FAILED, False) in statuses                # REQUIRED_FIELD_MISSING: fix the data
    assert statuses.count((WriteStatus.OK, False)) == 1


# -- throttling and transient failures ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["request_limit", "http_503", "http_500", "drop_connection"])
def test_limits_and_transient_failures_are_retried_to_success(
        kind: str, connector: SalesforceConnector, sandbox: Sandbox, sleeps: list[float]) -> None:
    sandbox.faults.add(FaultRule(kind, service="salesforce", operation="query", times=2))  # type: ignore[arg-type]
    assert "alice@acme.example" in connector.users_by_username(["alice@acme.example"])
    assert len(sleeps) == 2 and sleeps[1] >= sleeps[0] / 2


def test_retries_are_bounded(connector: SalesforceConnector, sandbox: Sandbox, sleeps: list[float]) -> None:
    sandbox.faults.add(FaultRule("request_limit", service="salesforce", operation="query"))
    with pytest.raises(ConnectorError) as caught:
        connector.users_by_username(["alice@acme.example"])
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.retryable
    assert len(sleeps) == 3  # four attempts


def test_an_untrusted_certificate_fails_verification_and_is_not_retried(
        salesforce_settings: Settings, sleeps: list[float], backoff: BackOff) -> None:
    from dataclasses import replace
    settings = replace(salesforce_settings("client_credentials"), ca_file=None)   # the system store only
    with pytest.raises(ConnectorError) as caught:
        SalesforceConnector(settings, backoff=backoff).login()
    assert caught.value.kind is ErrorKind.TLS and "caFile" in caught.value.fix
    assert sleeps == []
