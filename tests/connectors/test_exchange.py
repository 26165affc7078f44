"""Contract tests: the Exchange connector with the real exchangelib and msal over HTTPS to the
sandbox's EWS and identity emulators, certificate verification on."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sandbox.ews_client import exchange

from reconciler.connectors.errors import ConnectorError, ErrorKind
from reconciler.connectors.exchange import CONTACT_FETCH_FIELDS, ExchangeConnector, ExchangeContactStore
from reconciler.connectors.http import ApiCallCounter, VerifyingEwsAdapter
from reconciler.connectors.retry import BackOff
from reconciler.connectors.settings import ExchangeSettings
from reconciler.sandbox.faults import FaultRule
from reconciler.sandbox.server import Sandbox
from reconciler.sync.ports import CreateOp, DeleteOp, UpdateOp, WriteStatus

Settings = Callable[..., ExchangeSettings]


@pytest.fixture
def connect(exchange_settings: Settings, counter: ApiCallCounter, backoff: BackOff,
            exchange_connectors: list[ExchangeConnector]) -> Callable[..., ExchangeConnector]:
    def make(kind: str = "service_account", **auth: object) -> ExchangeConnector:
        connector = ExchangeConnector(exchange_settings(kind, **auth), counter, backoff)
        exchange_connectors.append(connector)
        return connector
    return make


@pytest.fixture
def alice(connect: Callable[..., ExchangeConnector]) -> ExchangeContactStore:
    return connect().contact_store("alice@acme.example")


def _everything(store: ExchangeContactStore, cursor: str | None = None):
    records, deleted = [], []
    while True:
        page = store.list_changes(cursor)
        records += page.records
        deleted += page.deleted_ids
        cursor = page.cursor
        if page.complete:
            return records, deleted, cursor


@pytest.mark.parametrize("kind", ["service_account", "oauth_secret", "oauth_certificate"])
def test_each_auth_type_reads_a_mailbox(kind: str, connect: Callable[..., ExchangeConnector],
                                        counter: ApiCallCounter) -> None:
    store = connect(kind).contact_store("alice@acme.example")
    records, _, _ = _everything(store)
    assert "jane.doe@globex.example" in {r.fields["EmailAddress1"] for r in records}
    counts = counter.counts()
    assert counts.get("token", 0) == (0 if kind == "service_account" else 2)  # discovery + token, once


def test_tls_is_verified_against_the_connection_ca(connect: Callable[..., ExchangeConnector],
                                                   exchange_settings: Settings) -> None:
    settings = exchange_settings("service_account")
    connect()
    assert VerifyingEwsAdapter.trust_for(settings.ews_url or "") == str(settings.ca_file)


def test_wrong_password_is_an_authentication_error_without_the_secret(
        connect: Callable[..., ExchangeConnector], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    marker = "MARKER-9e107d9d372bb682"
    monkeypatch.setenv("EWS_PASSWORD", marker)
    caplog.set_level(logging.DEBUG)
    connector = connect(password={"secretRef": {"env": "EWS_PASSWORD"}})
    with pytest.raises(ConnectorError) as caught:
        connector.check_mailbox_access("alice@acme.example")
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    assert marker not in f"{caught.value} {caught.value!r} {connector.settings!r}"
    assert marker not in caplog.text
    assert "Basic [redacted]" in caplog.text or "Authorization" not in caplog.text


def test_wrong_client_secret_names_the_aadsts_code(connect: Callable[..., ExchangeConnector],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    marker = "MARKER-client-secret-0042"
    monkeypatch.setenv("APP_SECRET", marker)
    connector = connect("oauth_secret", clientSecret={"secretRef": {"env": "APP_SECRET"}})
    with pytest.raises(ConnectorError) as caught:
        connector.access_token()
    assert caught.value.kind is ErrorKind.AUTHENTICATION
    assert "AADSTS" in caught.value.message and marker not in str(caught.value)


def test_no_impersonation_right_is_a_clear_permission_error(connect: Callable[..., ExchangeConnector]) -> None:
    with pytest.raises(ConnectorError) as caught:
        connect().check_mailbox_access("frank@acme.example")
    assert caught.value.kind is ErrorKind.PERMISSION
    assert "no impersonation right on frank@acme.example" in caught.value.message
    assert "ApplicationImpersonation" in caught.value.fix


def test_resolve_names(connect: Callable[..., ExchangeConnector]) -> None:
    connector = connect()
    resolved = connector.resolve_mailbox("bob@acme.example")
    assert resolved is not None and resolved.address == "bob@acme.example"
    assert connector.resolve_mailbox("nobody@acme.example") is None


def test_the_mailbox_zone_is_read_from_outlooks_options(connect: Callable[..., ExchangeConnector],
                                                       sandbox: Sandbox) -> None:
    connector = connect()
    assert getattr(connector.mailbox_zone("bob@acme.example"), "key", None) == "Europe/London"
    exchange(sandbox).mailboxes["dave@acme.example"].time_zone = None   # dave never opened Outlook's options
    assert connector.mailbox_zone("dave@acme.example") is None
    with pytest.raises(ConnectorError) as caught:   # no mailbox is not "no zone"
        connector.mailbox_zone("nobody@acme.example")
    assert caught.value.kind is ErrorKind.NOT_FOUND and "no mailbox" in caught.value.message
    with pytest.raises(ConnectorError) as caught:
        connector.mailbox_zone("frank@acme.example")
    assert caught.value.kind is ErrorKind.PERMISSION
    assert sandbox.counters.counts("exchange")["GetUserConfiguration"] == 4, "one request each, never retried"


def test_listing_does_not_create_the_folder(connect: Callable[..., ExchangeConnector], counter: ApiCallCounter) -> None:
    store = connect().contact_store("dave@acme.example")
    assert store.sync_folder() is None
    page = store.list_changes(None)
    assert page.records == [] and page.complete
    assert "CreateFolder" not in counter.counts()
    assert store.sync_folder() is None


def test_full_and_incremental_listing_with_deletes(alice: ExchangeContactStore, counter: ApiCallCounter) -> None:
    records, deleted, cursor = _everything(alice)
    assert not deleted
    jane = next(r for r in records if r.fields["EmailAddress1"] == "jane.doe@globex.example")
    assert jane.fields["BusinessAddress.City"] == "Springfield" and jane.version

    created = alice.write([CreateOp({"GivenName": "Nora", "Surname": "New", "EmailAddress1": "nora@example.org",
                                     "MobilePhone": "+64 21 555 0101", "Birthday": "1990-02-03",
                                     "Body": "met at the expo"}, salesforce_id_stamp="003000000000001AAA")])
    assert created[0].status is WriteStatus.OK
    assert alice.write([DeleteOp(jane.id, jane.version)])[0].status is WriteStatus.OK

    counter.reset()
    changed, deleted, cursor = _everything(alice, cursor)
    assert deleted == [jane.id]
    nora = next(r for r in changed if r.id == created[0].record_id)
    assert nora.version == created[0].version
    assert (nora.fields["MobilePhone"], nora.fields["Birthday"], nora.fields["Body"]) == (
        "+64 21 555 0101", "1990-02-03", "met at the expo")
    assert counter.counts() == {"GetItem": 1, "SyncFolderItems": 1}

    counter.reset()
    fresh_store = ExchangeContactStore(alice.connector, "alice@acme.example")   # as in the next cycle
    nothing, deleted, _ = _everything(fresh_store, cursor)
    assert (nothing, deleted) == ([], [])
    assert counter.counts() == {"SyncFolderItems": 1}   # nothing to do costs one call


def test_the_first_create_makes_the_folder(connect: Callable[..., ExchangeConnector], counter: ApiCallCounter) -> None:
    store = connect().contact_store("dave@acme.example")
    first = store.write([CreateOp({"GivenName": "First", "Surname": "Contact"})])
    assert first[0].status is WriteStatus.OK
    assert counter.counts()["CreateFolder"] == 1
    records, _, _ = _everything(ExchangeContactStore(store.connector, "dave@acme.example"))
    assert [r.id for r in records] == [first[0].record_id]


def test_updates_are_conditional_and_keep_untouched_indexed_entries(alice: ExchangeContactStore) -> None:
    records, _, _ = _everything(alice)
    jane = next(r for r in records if r.fields["EmailAddress1"] == "jane.doe@globex.example")
    ok = alice.write([UpdateOp(jane.id, jane.version, {"MobilePhone": "+1 312 555 0000", "BusinessAddress.City": "Shelbyville"})])
    assert ok[0].status is WriteStatus.OK and ok[0].version != jane.version
    fresh = alice.fetch([jane.id])[0]
    assert fresh.fields["MobilePhone"] == "+1 312 555 0000"
    assert fresh.fields["BusinessPhone"] == jane.fields["BusinessPhone"]           # other phone kept
    assert fresh.fields["BusinessAddress.Street"] == jane.fields["BusinessAddress.Street"]
    assert fresh.fields["BusinessAddress.City"] == "Shelbyville"

    stale = alice.write([UpdateOp(jane.id, jane.version, {"JobTitle": "Overwritten?"}),
                         DeleteOp(jane.id, jane.version)])
    assert [r.status for r in stale] == [WriteStatus.CONFLICT, WriteStatus.CONFLICT]
    assert alice.fetch([jane.id])[0].fields["JobTitle"] == "VP Operations"


def test_server_side_conflict_is_reported_as_conflict(alice: ExchangeContactStore,
                                                     connect: Callable[..., ExchangeConnector]) -> None:
    """Someone edits between our pre-read and our UpdateItem: the server's NeverOverwrite refuses."""
    records, _, _ = _everything(alice)
    target, untouched = records[0], records[1]
    read_before = alice.items.get([target.id, untouched.id], CONTACT_FETCH_FIELDS, "reading")  # our pre-read ...
    other = connect().contact_store("alice@acme.example")
    assert other.write([UpdateOp(target.id, target.version, {"JobTitle": "Theirs"})])[0].status is WriteStatus.OK
    results: list = [None, None]
    alice._update([(0, UpdateOp(target.id, target.version, {"JobTitle": "Ours"}), read_before[target.id]),
                   (1, UpdateOp(untouched.id, untouched.version, {"JobTitle": "Ours"}), read_before[untouched.id])],
                  results)
    assert [r.status for r in results] == [WriteStatus.CONFLICT, WriteStatus.OK]  # ... their edit landed between
    assert alice.fetch([target.id])[0].fields["JobTitle"] == "Theirs"


def test_250_creates_take_three_create_item_calls(alice: ExchangeContactStore, sandbox: Sandbox) -> None:
    ops = [CreateOp({"GivenName": f"Bulk{i}", "Surname": "Load"}) for i in range(250)]
    sandbox.counters.reset()
    results = [r for start in range(0, 250, alice.max_batch) for r in alice.write(ops[start:start + alice.max_batch])]
    assert len(results) == 250 and all(r.status is WriteStatus.OK for r in results)
    assert sandbox.counters.counts("exchange")["CreateItem"] == 3


@pytest.mark.parametrize("kind", ["server_busy", "http_503", "drop_connection"])
def test_throttling_and_transient_failures_are_retried(kind: str, alice: ExchangeContactStore, sandbox: Sandbox,
                                                       sleeps: list[float]) -> None:
    sandbox.faults.add(FaultRule(kind, service="exchange", operation="SyncFolderItems", times=2,  # type: ignore[arg-type]
                                 back_off_ms=30))
    records, _, _ = _everything(alice)
    assert records and len(sleeps) == 2
    if kind == "server_busy":
        assert sleeps == [0.03, 0.03]  # the server's BackOffMilliseconds, honoured


def test_busy_items_inside_a_batch_are_sent_again(alice: ExchangeContactStore, sandbox: Sandbox,
                                                 sleeps: list[float]) -> None:
    sandbox.faults.add(FaultRule("server_busy", service="exchange", operation="CreateItem", times=1, back_off_ms=20))
    results = alice.write([CreateOp({"GivenName": f"B{i}"}) for i in range(3)])
    assert all(r.status is WriteStatus.OK for r in results)
    assert sleeps


def test_created_items_carry_the_salesforce_id_stamp(alice: ExchangeContactStore) -> None:
    created = alice.write([CreateOp({"GivenName": "Stamped"}, salesforce_id_stamp="003000000000001AAA")])
    assert alice.fetch([created[0].record_id])[0].salesforce_id_stamp == "003000000000001AAA"


def test_an_untrusted_certificate_fails_verification(exchange_settings: Settings,
                                                     exchange_connectors: list[ExchangeConnector]) -> None:
    from dataclasses import replace
    connector = ExchangeConnector(replace(exchange_settings("service_account"), ca_file=None))
    exchange_connectors.append(connector)
    with pytest.raises(ConnectorError) as caught:
        connector.check_mailbox_access("alice@acme.example")
    assert caught.value.kind is ErrorKind.TLS


def test_an_expiring_oauth_token_is_renewed(connect: Callable[..., ExchangeConnector], counter: ApiCallCounter) -> None:
    import datetime as dt
    connector = connect("oauth_secret")
    store = connector.contact_store("alice@acme.example")
    _everything(store)
    connector._token_expires = dt.datetime.now(dt.timezone.utc)   # as if an hour had passed
    connector._msal_app().token_cache = type(connector._msal_app().token_cache)()  # msal's cache expired too
    records, _, _ = _everything(ExchangeContactStore(connector, "alice@acme.example"))
    assert records and counter.counts()["token"] >= 3
