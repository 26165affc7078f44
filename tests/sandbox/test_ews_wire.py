"""Wire-level checks of what exchangelib does not send by itself (raw SOAP over verified HTTPS)."""

from __future__ import annotations

from sandbox.ews_client import NAMESPACES, basic_account, exchange, soap, trusting_sandbox

from reconciler.sandbox.ews import ExchangeService
from reconciler.sandbox.identity import IdentityService
from reconciler.sandbox.server import Sandbox


def messages(envelope, operation: str) -> list:
    return envelope.findall(f".//m:{operation}ResponseMessage", NAMESPACES)


def codes(envelope, operation: str) -> list[tuple[str, str]]:
    return [(m.get("ResponseClass"), m.findtext("m:ResponseCode", namespaces=NAMESPACES))
            for m in messages(envelope, operation)]


def test_every_answer_carries_the_server_version(sandbox: Sandbox) -> None:
    status, envelope = soap(sandbox, '<m:GetFolder><m:FolderShape><t:BaseShape>Default</t:BaseShape></m:FolderShape>'
                                     '<m:FolderIds><t:DistinguishedFolderId Id="msgfolderroot"/>'
                                     '<t:DistinguishedFolderId Id="publicfoldersroot"/></m:FolderIds></m:GetFolder>')
    assert status == 200
    version = envelope.find("s:Header/t:ServerVersionInfo", NAMESPACES)
    assert (version.get("MajorVersion"), version.get("Version")) == ("15", "Exchange2016")
    assert codes(envelope, "GetFolder") == [("Success", "NoError"), ("Error", "ErrorFolderNotFound")]


def test_append_to_item_field_extends_categories_and_body(sandbox: Sandbox) -> None:
    folder = exchange(sandbox).mailboxes["alice@acme.example"]
    morgan = next(i for i in folder.items.values() if i.fields.get("DisplayName") == "Morgan Lee")
    status, envelope = soap(sandbox, f"""
      <m:UpdateItem ConflictResolution="NeverOverwrite" MessageDisposition="SaveOnly">
        <m:ItemChanges><t:ItemChange>
          <t:ItemId Id="{morgan.id}" ChangeKey="{morgan.changekey}"/>
          <t:Updates>
            <t:AppendToItemField><t:FieldURI FieldURI="item:Categories"/>
              <t:Contact><t:Categories><t:String>Salesforce</t:String></t:Categories></t:Contact>
            </t:AppendToItemField>
            <t:AppendToItemField><t:FieldURI FieldURI="item:Body"/>
              <t:Contact><t:Body BodyType="Text">Second line.</t:Body></t:Contact>
            </t:AppendToItemField>
          </t:Updates>
        </t:ItemChange></m:ItemChanges>
      </m:UpdateItem>""")
    assert (status, codes(envelope, "UpdateItem")) == (200, [("Success", "NoError")])
    assert morgan.fields["Categories"] == ["Prospect", "Salesforce"]
    assert morgan.fields["Body"] == ["Text", "Second line."]


def test_a_folder_of_a_mailbox_the_caller_may_not_open_is_access_denied(sandbox: Sandbox) -> None:
    _, envelope = soap(sandbox, '<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>'
                                '<m:FolderIds><t:DistinguishedFolderId Id="calendar"><t:Mailbox>'
                                '<t:EmailAddress>frank@acme.example</t:EmailAddress></t:Mailbox>'
                                '</t:DistinguishedFolderId><t:DistinguishedFolderId Id="calendar"><t:Mailbox>'
                                '<t:EmailAddress>bob@acme.example</t:EmailAddress></t:Mailbox>'
                                '</t:DistinguishedFolderId></m:FolderIds></m:GetFolder>')
    assert codes(envelope, "GetFolder") == [("Error", "ErrorAccessDenied"), ("Success", "NoError")]


def test_paging_from_the_end_and_a_malformed_request(sandbox: Sandbox) -> None:
    _, envelope = soap(sandbox, '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
                                '</m:ItemShape><m:IndexedPageItemView MaxEntriesReturned="4" Offset="0" '
                                'BasePoint="End"/><m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/>'
                                '</m:ParentFolderIds></m:FindItem>')
    root = envelope.find(".//m:RootFolder", NAMESPACES)
    assert (root.get("TotalItemsInView"), root.get("IncludesLastItemInRange")) == ("6", "false")
    assert len(root.findall("t:Items/t:CalendarItem", NAMESPACES)) == 4
    status, fault = soap(sandbox, "<m:FindItem><unclosed></m:FindItem>")
    assert status == 500
    assert fault.findtext(".//faultstring") and fault.find(".//s:Fault", NAMESPACES) is not None


def test_resolve_names_by_prefix_or_nothing(sandbox: Sandbox) -> None:
    _, envelope = soap(sandbox, '<m:ResolveNames ReturnFullContactData="false">'
                                '<m:UnresolvedEntry>b</m:UnresolvedEntry></m:ResolveNames>', impersonate=None)
    assert codes(envelope, "ResolveNames") == [("Success", "NoError")]
    assert envelope.findtext(".//t:Mailbox/t:EmailAddress", namespaces=NAMESPACES) == "bob@acme.example"
    _, envelope = soap(sandbox, '<m:ResolveNames ReturnFullContactData="false">'
                                '<m:UnresolvedEntry>acme</m:UnresolvedEntry></m:ResolveNames>', impersonate=None)
    assert codes(envelope, "ResolveNames") == [("Error", "ErrorNameResolutionNoResults")]


def test_several_matches_resolve_with_a_warning() -> None:
    seed = {"exchange": {"serviceAccounts": [{"username": "svc@x.example"}],
                         "mailboxes": [{"address": "sam.smith@x.example", "displayName": "Sam Smith"},
                                       {"address": "sam.jones@x.example", "displayName": "Sam Jones"}]}}
    with Sandbox(services=[ExchangeService(), IdentityService()], seed=seed) as sandbox:
        _, envelope = soap(sandbox, '<m:ResolveNames ReturnFullContactData="false">'
                                    '<m:UnresolvedEntry>sam</m:UnresolvedEntry></m:ResolveNames>', impersonate=None)
        assert codes(envelope, "ResolveNames") == [("Warning", "ErrorNameResolutionMultipleResults")]
        with trusting_sandbox(sandbox):
            resolved = basic_account(sandbox, "sam.smith@x.example").protocol.resolve_names(["Sam"])
        assert {r.email_address for r in resolved} == {"sam.smith@x.example", "sam.jones@x.example"}
