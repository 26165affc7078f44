"""The combined bench seed: one cast on every service, the asked-for overlap, loadable as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import exchange_settings, salesforce_settings

from reconciler.connectors.exchange import ExchangeConnector
from reconciler.connectors.salesforce import SalesforceConnector
from reconciler.sandbox.generate import bench_user_address, dump_seed, generate_seed, main
from reconciler.sandbox.server import DEFAULT_SEED_DIR, Sandbox, load_seed


def _emails(contacts: list[dict]) -> list[str]:
    return [c["EmailAddresses"]["EmailAddress1"] for c in contacts]


def test_every_salesforce_user_has_a_mailbox_the_service_account_and_the_app_may_impersonate() -> None:
    seed = generate_seed(users=3, contacts_per_user=4, events_per_user=2)
    addresses = [bench_user_address(n) for n in (1, 2, 3)]
    assert addresses == ["user00001@bench.example", "user00002@bench.example", "user00003@bench.example"]
    salesforce, exchange = seed["salesforce"], seed["exchange"]
    assert [u["username"] for u in salesforce["users"]] == addresses
    assert [u["email"] for u in salesforce["users"]] == addresses
    assert [m["address"] for m in exchange["mailboxes"]] == addresses
    assert exchange["domains"] == ["bench.example"]
    assert exchange["serviceAccounts"] == [{"username": "svc-reconciler@bench.example", "impersonates": addresses}]
    assert seed["identity"] == load_seed(DEFAULT_SEED_DIR / "identity.yaml")["identity"]
    app_id = seed["identity"]["tenants"][0]["applications"][0]["clientId"]
    assert exchange["applications"] == [{"clientId": app_id, "impersonates": addresses}]
    assert len(salesforce["contacts"]) == 12 and len(salesforce["events"]) == 6
    assert all(len(m["contacts"]) == 4 and len(m["events"]) == 2 for m in exchange["mailboxes"])
    assert {c["owner"] for c in salesforce["contacts"]} == set(addresses)


@pytest.mark.parametrize(("overlap", "shared"), [(0.0, 0), (0.25, 5), (0.5, 10), (1.0, 20)])
def test_overlap_puts_that_share_of_each_users_own_contacts_in_their_mailbox(overlap: float, shared: int) -> None:
    seed = generate_seed(users=2, contacts_per_user=20, events_per_user=0, overlap=overlap, seed=5)
    for number, mailbox in enumerate(seed["exchange"]["mailboxes"], start=1):
        owned = [c for c in seed["salesforce"]["contacts"] if c["owner"] == bench_user_address(number)]
        in_salesforce = {c["Email"] for c in owned}
        in_mailbox = _emails(mailbox["contacts"])
        assert len(in_mailbox) == 20
        assert len(set(in_mailbox) & in_salesforce) == shared
        for contact in owned[:shared]:
            copy = next(c for c in mailbox["contacts"] if c["EmailAddresses"]["EmailAddress1"] == contact["Email"])
            assert (copy["GivenName"], copy["Surname"], copy["CompanyName"], copy["PhoneNumbers"]["BusinessPhone"]) == (
                contact["FirstName"], contact["LastName"], contact["account"], contact["Phone"])
            assert copy.get("JobTitle") == contact.get("Title")
            assert copy["folder"] == "Salesforce_Sync"


def test_the_same_arguments_give_the_same_seed_and_another_seed_number_another() -> None:
    assert generate_seed(2, 10, 3, 0.3, seed=1) == generate_seed(2, 10, 3, 0.3, seed=1)
    assert generate_seed(2, 10, 3, 0.3, seed=1) != generate_seed(2, 10, 3, 0.3, seed=2)


@pytest.mark.parametrize(("users", "contacts", "events", "overlap"),
                         [(0, 1, 0, 0.0), (1, -1, 0, 0.0), (1, 1, -1, 0.0), (1, 1, 0, 1.5), (1, 1, 0, -0.1)])
def test_impossible_sizes_are_refused(users: int, contacts: int, events: int, overlap: float) -> None:
    with pytest.raises(ValueError):
        generate_seed(users, contacts, events, overlap)


def test_the_written_file_loads_back_as_the_same_seed(tmp_path: Path) -> None:
    seed = generate_seed(users=2, contacts_per_user=6, events_per_user=3, overlap=0.5)
    path = tmp_path / "seed.yaml"
    with path.open("w", encoding="utf-8") as stream:
        dump_seed(seed, stream)
    assert load_seed(path) == seed


def test_the_module_command_writes_the_seed_to_stdout(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["--users", "2", "--contacts", "5", "--events", "1", "--overlap", "0.4", "--seed", "9"]) == 0
    path = tmp_path / "seed.yaml"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    assert load_seed(path) == generate_seed(2, 5, 1, 0.4, seed=9)
    with pytest.raises(SystemExit) as refused:
        main(["--overlap", "2"])
    assert refused.value.code == 2
    assert "overlap" in capsys.readouterr().err


def test_the_seeded_sandbox_serves_the_cast_through_the_real_connectors(tmp_path: Path) -> None:
    seed = generate_seed(users=2, contacts_per_user=30, events_per_user=2, overlap=0.5)
    with Sandbox(data_dir=tmp_path / "sandbox", seed=seed) as sandbox:
        endpoints, secrets_dir = sandbox.endpoints(), tmp_path / "sandbox" / "secrets"
        salesforce = SalesforceConnector(salesforce_settings(endpoints, secrets_dir))
        users = salesforce.users_by_username([bench_user_address(1), bench_user_address(2)])
        assert {u.email for u in users.values()} == {bench_user_address(1), bench_user_address(2)}
        owned = salesforce.contact_store(users[bench_user_address(2)].id).list_changes(None)
        assert owned.complete and len(owned.records) == 30
        exchange = ExchangeConnector(exchange_settings(endpoints, secrets_dir))
        try:
            mailbox = exchange.contact_store(bench_user_address(2)).list_changes(None)
        finally:
            exchange.close()
        assert mailbox.complete and len(mailbox.records) == 30
        in_both = {r.fields["Email"].lower() for r in owned.records} & {
            str(r.fields["EmailAddress1"]).lower() for r in mailbox.records}
        assert len(in_both) == 15
