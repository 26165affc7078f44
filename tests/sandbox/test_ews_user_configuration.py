"""Contract tests: GetUserConfiguration of OWA.UserOptions, the mailbox's own time zone as OWA keeps
it (a Windows zone name under ``timezone``), read through the real exchangelib."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from exchangelib import EWSTimeZone
from exchangelib.errors import ErrorImpersonateUserDenied, ErrorItemNotFound
from exchangelib.properties import DistinguishedFolderId, Mailbox, UserConfigurationNameMNS
from exchangelib.services import GetUserConfiguration
from sandbox.ews_client import basic_account, soap, trusting_sandbox

from reconciler.sandbox.server import Sandbox, load_seed

OPTIONS = "OWA.UserOptions"


@pytest.fixture
def sandbox_seed() -> dict[str, Any]:
    """The demo seed, but dave never opened OWA's options: his mailbox has no zone."""
    seed = copy.deepcopy(load_seed(None))
    [dave] = [box for box in seed["exchange"]["mailboxes"] if box["address"] == "dave@acme.example"]
    del dave["timeZone"]
    return seed


def options_in_root(sandbox: Sandbox, address: str, name: str = OPTIONS, properties: str = "Dictionary") -> Any:
    """One GetUserConfiguration naming the root folder by its distinguished id (no GetFolder first)."""
    account = basic_account(sandbox, address)
    root = DistinguishedFolderId(id="root", mailbox=Mailbox(email_address=address))
    return GetUserConfiguration(account=account).get(
        user_configuration_name=UserConfigurationNameMNS(name=name, folder=root), properties=properties)


def test_the_mailbox_zone_is_the_windows_name_under_timezone(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        alice, bob = options_in_root(sandbox, "alice@acme.example"), options_in_root(sandbox, "bob@acme.example")
    assert alice.dictionary == {"timezone": "Pacific Standard Time"}
    assert bob.dictionary == {"timezone": "GMT Standard Time"}
    assert EWSTimeZone.from_ms_id(alice.dictionary["timezone"]).key == "America/Los_Angeles"
    assert alice.id is None, "Dictionary alone carries no item id"
    assert sandbox.counters.counts("exchange") == {"GetUserConfiguration": 2}


def test_exchangelibs_folder_method_reads_it_from_the_root_folder(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        options = basic_account(sandbox, "carol@acme.example").root.get_user_configuration(OPTIONS)
    assert options.dictionary == {"timezone": "Pacific Standard Time"}
    assert options.id is not None and options.user_configuration_name.name == OPTIONS


def test_a_mailbox_without_a_zone_or_another_name_has_no_such_object(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        with pytest.raises(ErrorItemNotFound):
            options_in_root(sandbox, "dave@acme.example")
        with pytest.raises(ErrorItemNotFound):
            options_in_root(sandbox, "alice@acme.example", name="OWA.ViewStateConfiguration")
        with pytest.raises(ErrorItemNotFound):
            basic_account(sandbox, "alice@acme.example").inbox.get_user_configuration(OPTIONS)


def test_it_honours_impersonation_like_every_operation(sandbox: Sandbox) -> None:
    with trusting_sandbox(sandbox):
        with pytest.raises(ErrorImpersonateUserDenied):
            options_in_root(sandbox, "frank@acme.example")
    # Impersonating alice while naming frank's root: the caller's own grants decide, as for folders.
    status, answer = soap(sandbox, """<m:GetUserConfiguration>
      <m:UserConfigurationName Name="OWA.UserOptions">
        <t:DistinguishedFolderId Id="root"><t:Mailbox><t:EmailAddress>frank@acme.example</t:EmailAddress></t:Mailbox>
        </t:DistinguishedFolderId>
      </m:UserConfigurationName>
      <m:UserConfigurationProperties>All</m:UserConfigurationProperties>
    </m:GetUserConfiguration>""")
    assert status == 200
    ns = {"m": "http://schemas.microsoft.com/exchange/services/2006/messages"}
    code = answer.findtext(".//m:GetUserConfigurationResponseMessage/m:ResponseCode", namespaces=ns)
    assert code == "ErrorAccessDenied"
