"""Contract tests: exchangelib 5.6 manages contacts in the EWS emulator over verified HTTPS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from exchangelib import Contact, EWSDate, ItemId, Q
from exchangelib.errors import ErrorFolderExists, ErrorInvalidIdMalformed, ErrorIrresolvableConflict, ErrorItemNotFound
from exchangelib.folders import Contacts, FolderCollection
from exchangelib.folders import SHALLOW
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.items import NEVER_OVERWRITE
from sandbox.ews_client import basic_account, exchange, stamp_registered, trusting_sandbox

from reconciler.sandbox.server import Sandbox

ALICE = "alice@acme.example"


@pytest.fixture
def alice(sandbox: Sandbox) -> Iterator:
    with trusting_sandbox(sandbox), stamp_registered():
        yield basic_account(sandbox, ALICE)


def test_the_seeded_sync_folder_is_found_under_contacts_with_its_contacts(alice) -> None:
    children = list(FolderCollection(account=alice, folders=[alice.contacts]).find_folders(depth=SHALLOW))
    assert [f.name for f in children] == ["Salesforce_Sync"]
    sync = alice.contacts / "Salesforce_Sync"
    emails = {c.email_addresses[0].email for c in sync.all()}
    assert {"jane.doe@globex.example", "raj.patel@initech.example", "li.wei@umbrella.example"} <= emails
    assert "pat@personal.example" not in emails
    assert "pat@personal.example" in {c.email_addresses[0].email for c in alice.contacts.all()}


def test_a_created_folder_is_found_again_and_a_duplicate_name_is_refused(alice) -> None:
    folder = Contacts(parent=alice.contacts, name="Partners")
    folder.save()
    assert folder.id
    alice.root.clear_cache()
    assert (alice.contacts / "Partners").id == folder.id
    with pytest.raises(ErrorFolderExists):
        Contacts(parent=alice.contacts, name="Partners").save()


def test_250_contacts_are_created_in_bulk_and_paged_back(alice, sandbox: Sandbox) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    contacts = [Contact(folder=folder, display_name=f"Bulk {n:03}", given_name="Bulk", surname=f"{n:03}",
                        email_addresses=[EmailAddress(email=f"bulk{n}@example.org", label="EmailAddress1")])
                for n in range(250)]
    created = alice.bulk_create(folder=folder, items=contacts)
    assert all(isinstance(c, tuple) or getattr(c, "id", None) for c in created)
    sandbox.counters.reset()
    listed = list(folder.all().only("display_name"))
    assert len(listed) == 256  # the six seeded contacts and the 250 new ones
    assert len({c.id for c in listed}) == 256
    assert sandbox.counters.counts("exchange")["FindItem"] == 3  # 100 per page


def test_get_item_returns_indexed_and_extended_fields(alice) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    contact = Contact(
        folder=folder, display_name="Ada Lovelace", given_name="Ada", surname="Lovelace", job_title="Analyst",
        email_addresses=[EmailAddress(email="ada@example.org", label="EmailAddress1"),
                         EmailAddress(email="ada@home.example", label="EmailAddress3")],
        phone_numbers=[PhoneNumber(label="MobilePhone", phone_number="+44 20 0000 0001"),
                       PhoneNumber(label="BusinessFax", phone_number="+44 20 0000 0002")],
        physical_addresses=[PhysicalAddress(label="Business", street="12 St James's Square", city="London",
                                            zipcode="SW1Y 4JH", country="UK")],
        categories=["Salesforce"], body="Met at the Analytical Society", test_salesforce_id="003000000000001AAA")
    contact.save()
    [fetched] = list(alice.fetch(ids=[contact]))
    assert fetched.given_name == "Ada" and fetched.job_title == "Analyst"
    assert {(e.label, e.email) for e in fetched.email_addresses} == {
        ("EmailAddress1", "ada@example.org"), ("EmailAddress3", "ada@home.example")}
    assert {(p.label, p.phone_number) for p in fetched.phone_numbers} == {
        ("MobilePhone", "+44 20 0000 0001"), ("BusinessFax", "+44 20 0000 0002")}
    [address] = fetched.physical_addresses
    assert (address.label, address.city, address.zipcode, address.country) == ("Business", "London", "SW1Y 4JH", "UK")
    assert fetched.categories == ["Salesforce"]
    assert fetched.body == "Met at the Analytical Society" == fetched.text_body
    assert fetched.test_salesforce_id == "003000000000001AAA"
    [stamp_only] = list(alice.fetch(ids=[contact], only_fields=["test_salesforce_id"]))
    assert stamp_only.test_salesforce_id == "003000000000001AAA" and stamp_only.given_name is None
    assert fetched.parent_folder_id.id == folder.id
    assert fetched.datetime_created is not None and fetched.last_modified_time is not None


def test_contacts_are_found_by_their_stamped_salesforce_id(alice) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    for n in range(3):
        Contact(folder=folder, display_name=f"Stamped {n}", test_salesforce_id=f"0030000000000{n}0AAA").save()
    found = list(folder.filter(test_salesforce_id="003000000000010AAA"))
    assert [c.display_name for c in found] == ["Stamped 1"]
    assert folder.filter(test_salesforce_id__exists=True).count() == 3
    assert [c.display_name for c in folder.filter(display_name__istartswith="stamped", surname__exists=False)
            .order_by("-display_name")] == ["Stamped 2", "Stamped 1", "Stamped 0"]
    assert {c.surname for c in folder.filter(given_name__in=["Jane", "Raj"])} == {"Doe", "Patel"}
    assert {c.given_name for c in folder.filter(company_name__icontains="umbrel")} == {"Li"}


def test_restrictions_combine_comparisons_with_and_or_not(alice) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    born_after_1980 = folder.filter(birthday__gt=EWSDate(1980, 1, 1))
    assert [c.display_name for c in born_after_1980] == ["Raj Patel"]
    jane_or_li = folder.filter(Q(given_name="Jane") | Q(surname="Wei"))
    assert sorted(c.display_name for c in jane_or_li) == ["Jane Doe", "Li Wei"]
    not_initech = folder.filter(~Q(company_name="Initech"), company_name__exists=True)
    assert "Raj Patel" not in {c.display_name for c in not_initech} and not_initech.count() == 5
    assert not folder.filter(Q(given_name="Jane") & Q(surname="Wei")).exists()


def test_updates_need_the_current_change_key_under_never_overwrite(alice) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    contact = Contact(folder=folder, display_name="Grace Hopper", job_title="Rear Admiral",
                      email_addresses=[EmailAddress(email="grace@navy.example", label="EmailAddress1")])
    contact.save()
    stale = Contact(account=alice, folder=folder, id=contact.id, changekey=contact.changekey)
    first_key = contact.changekey

    contact.job_title = "Computer scientist"
    contact.email_addresses = [EmailAddress(email="grace@yale.example", label="EmailAddress2")]
    contact.save(update_fields=["job_title", "email_addresses"], conflict_resolution=NEVER_OVERWRITE)
    assert contact.changekey != first_key

    stale.job_title = "Lost update"
    with pytest.raises(ErrorIrresolvableConflict):
        stale.save(update_fields=["job_title"], conflict_resolution=NEVER_OVERWRITE)

    [fetched] = list(alice.fetch(ids=[contact]))
    assert fetched.job_title == "Computer scientist"
    assert [(e.label, e.email) for e in fetched.email_addresses] == [("EmailAddress2", "grace@yale.example")]
    assert fetched.changekey == contact.changekey


def test_a_full_save_clears_empty_fields_and_auto_resolve_ignores_stale_keys(alice) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    contact = Contact(folder=folder, display_name="Alan Turing", department="Hut 8",
                      phone_numbers=[PhoneNumber(label="HomePhone", phone_number="+44 1908 640404")])
    contact.save()
    stale_key = contact.changekey
    contact.department = None
    contact.phone_numbers = None
    contact.changekey = stale_key
    contact.save()  # every field: SetItemField or DeleteItemField; AutoResolve by default
    [fetched] = list(alice.fetch(ids=[contact]))
    assert fetched.department is None and fetched.phone_numbers is None
    assert fetched.display_name == "Alan Turing"


def test_deleted_contacts_are_gone_and_bad_ids_are_told_apart(alice, sandbox: Sandbox) -> None:
    folder = alice.contacts / "Salesforce_Sync"
    contact = Contact(folder=folder, display_name="Short lived")
    contact.save()
    contact_id = contact.id
    contact.delete()
    [missing] = list(alice.fetch(ids=[ItemId(id=contact_id)]))
    assert isinstance(missing, ErrorItemNotFound)
    [malformed] = list(alice.fetch(ids=[ItemId(id="not-an-exchange-id")]))
    assert isinstance(malformed, ErrorInvalidIdMalformed)

    trash = exchange(sandbox).mailboxes[ALICE]
    moved = Contact(folder=folder, display_name="To the bin")
    moved.save()
    moved.move_to_trash()
    assert "To the bin" in {c.display_name for c in alice.trash.all()}
    assert len(trash.folders[trash.distinguished["deleteditems"]].items) == 1
