"""Exchange over EWS, through exchangelib.

No probing: the endpoint, the authentication type and the server version are fixed in the
``Configuration`` (exchangelib would otherwise send ConvertId and an unauthenticated POST first).
TLS is verified by :class:`~reconciler.connectors.http.VerifyingEwsAdapter`, which exchangelib
mounts process-wide; it keeps a trust anchor per endpoint origin, so several connections with
different CAs can live in one process. exchangelib runs fail-fast: throttling (ErrorServerBusy with
its BackOffMilliseconds) and transient failures are retried by our own bounded back-off.

Every item we create carries the Salesforce Id in a PublicStrings extended property
(``ReconcilerSalesforceId``), the identity that survives lost state, Reset Sync and mailbox moves.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import msal
from exchangelib import (BASIC, DELEGATE, IMPERSONATION, OAUTH2, UTC, Account, Build, CalendarItem, Configuration,
                         Contact, Credentials, EWSTimeZone, ExtendedProperty, FolderCollection,
                         OAuth2AuthorizationCodeCredentials, Version)
from exchangelib import errors as ews_errors
from exchangelib.folders import SHALLOW, Contacts, Root
from exchangelib.indexed_properties import EmailAddress, PhoneNumber, PhysicalAddress
from exchangelib.items import ALL_OCCURRENCES, MOVE_TO_DELETED_ITEMS, NEVER_OVERWRITE, SAVE_ONLY, SEND_TO_NONE
from exchangelib.properties import Body, DistinguishedFolderId, ItemId, Mailbox, UserConfigurationNameMNS
from exchangelib.protocol import Protocol
from exchangelib.services import CreateItem, DeleteItem, GetUserConfiguration, SyncFolderItems, UpdateItem
from exchangelib.items.base import ID_ONLY

from ..sync.ports import (ChangePage, CreateOp, DeleteOp, RecordStore, Side, SourceRecord, UpdateOp, WriteOp,
                          WriteResult)
from .batching import CURSOR_FORMAT, chunks, decode_cursor, encode_cursor
from .errors import ConnectorError, CursorExpired, ErrorKind, from_token_error, install_log_redaction, translate
from .http import ApiCallCounter, VerifyingEwsAdapter, build_session, counting_ews_calls, install_ews_adapter
from .retry import BackOff
from .settings import ExchangeSettings

T = TypeVar("T")

EWS_BUILD = Build(15, 1, 2507, 6)          # Exchange 2016 CU: what on-premises servers run; no probing
SYNC_FOLDER_NAME = "Salesforce_Sync"
EWS_BATCH = 100                            # items per CreateItem / UpdateItem / DeleteItem / GetItem
SYNC_PAGE = 512                            # the most SyncFolderItems returns per call
EWS_OAUTH_SCOPE = "https://outlook.office365.com/.default"
TOKEN_REFRESH_MARGIN = dt.timedelta(minutes=5)
OWA_USER_OPTIONS = "OWA.UserOptions"      # the user configuration holding Outlook on the web's regional options
OWA_TIME_ZONE_KEY = "timezone"            # its entry with the mailbox's zone, a Windows zone name


class SalesforceIdProperty(ExtendedProperty):
    """The Salesforce Id stamped on every Exchange item we create or pair."""

    distinguished_property_set_id = "PublicStrings"
    property_name = "ReconcilerSalesforceId"
    property_type = "String"


STAMP_FIELD = "reconciler_salesforce_id"
_register_lock = threading.Lock()


def register_salesforce_id_property() -> None:
    """Register the stamp on Contact and CalendarItem (process-wide in exchangelib; idempotent)."""
    with _register_lock:
        for model in (Contact, CalendarItem):
            if STAMP_FIELD not in {f.name for f in model.FIELDS}:
                model.register(STAMP_FIELD, SalesforceIdProperty)


# -- the Exchange contact field vocabulary <-> exchangelib ---------------------------------------

_PLAIN_FIELDS = {
    "GivenName": "given_name", "MiddleName": "middle_name", "Surname": "surname", "Nickname": "nickname",
    "CompanyName": "company_name", "JobTitle": "job_title", "Department": "department",
    "AssistantName": "assistant_name",
}
_EMAIL_LABELS = ("EmailAddress1", "EmailAddress2", "EmailAddress3")
_PHONE_LABELS = ("BusinessPhone", "BusinessPhone2", "MobilePhone", "HomePhone", "BusinessFax", "OtherTelephone",
                 "AssistantPhone")
_ADDRESS_LABELS = {"BusinessAddress": "Business", "HomeAddress": "Home", "OtherAddress": "Other"}
_ADDRESS_PARTS = {"Street": "street", "City": "city", "State": "state", "PostalCode": "zipcode",
                  "CountryOrRegion": "country"}
CONTACT_FIELDS: tuple[str, ...] = (
    *_PLAIN_FIELDS, *_EMAIL_LABELS, *_PHONE_LABELS, "Birthday", "Body",
    *(f"{prefix}.{part}" for prefix in _ADDRESS_LABELS for part in _ADDRESS_PARTS),
)
# What a contact record is read with (GetItem): the vocabulary's fields, the stamp, the modification time.
CONTACT_FETCH_FIELDS = [*_PLAIN_FIELDS.values(), "display_name", "email_addresses", "phone_numbers",
                        "physical_addresses", "birthday", "body", "last_modified_time", STAMP_FIELD]


def contact_to_fields(item: Contact) -> dict[str, Any]:
    """An exchangelib Contact as a dict in the Exchange field vocabulary (absent values are None)."""
    fields: dict[str, Any] = {name: getattr(item, attr) or None for name, attr in _PLAIN_FIELDS.items()}
    emails = {e.label: e.email for e in item.email_addresses or []}
    phones = {p.label: p.phone_number for p in item.phone_numbers or []}
    addresses = {a.label: a for a in item.physical_addresses or []}
    fields.update({label: emails.get(label) or None for label in _EMAIL_LABELS})
    fields.update({label: phones.get(label) or None for label in _PHONE_LABELS})
    for prefix, label in _ADDRESS_LABELS.items():
        address = addresses.get(label)
        for part, attr in _ADDRESS_PARTS.items():
            fields[f"{prefix}.{part}"] = (getattr(address, attr) or None) if address is not None else None
    fields["Birthday"] = item.birthday.isoformat() if item.birthday else None
    fields["Body"] = str(item.body) if item.body else None
    return fields


def _date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _display_name(fields: Mapping[str, Any]) -> str:
    name = " ".join(str(fields[k]) for k in ("GivenName", "Surname") if fields.get(k))
    return name or str(fields.get("EmailAddress1") or fields.get("CompanyName") or "(no name)")


def apply_fields(item: Contact, fields: Mapping[str, Any]) -> list[str]:
    """Set vocabulary ``fields`` on ``item`` (None clears); returns the exchangelib field names
    touched. Indexed entries not named in ``fields`` keep the item's current values."""
    unknown = [name for name in fields if name not in CONTACT_FIELDS]
    if unknown:
        raise ConnectorError(ErrorKind.INVALID_REQUEST, f"unknown Exchange contact fields: {', '.join(sorted(unknown))}",
                             fix="use the Exchange field vocabulary (GivenName, EmailAddress1, BusinessAddress.City ...)")
    touched: list[str] = []
    for name, attr in _PLAIN_FIELDS.items():
        if name in fields:
            setattr(item, attr, fields[name] or None)
            touched.append(attr)
    if any(label in fields for label in _EMAIL_LABELS):
        current = {e.label: e.email for e in item.email_addresses or []}
        current.update({label: fields[label] for label in _EMAIL_LABELS if label in fields})
        item.email_addresses = [EmailAddress(label=label, email=value) for label, value in current.items() if value]
        touched.append("email_addresses")
    if any(label in fields for label in _PHONE_LABELS):
        phones = {p.label: p.phone_number for p in item.phone_numbers or []}
        phones.update({label: fields[label] for label in _PHONE_LABELS if label in fields})
        item.phone_numbers = [PhoneNumber(label=label, phone_number=value) for label, value in phones.items() if value]
        touched.append("phone_numbers")
    if any(name.split(".")[0] in _ADDRESS_LABELS for name in fields):
        addresses = {a.label: {attr: getattr(a, attr) for attr in _ADDRESS_PARTS.values()}
                     for a in item.physical_addresses or []}
        for prefix, label in _ADDRESS_LABELS.items():
            for part, attr in _ADDRESS_PARTS.items():
                if f"{prefix}.{part}" in fields:
                    addresses.setdefault(label, {})[attr] = fields[f"{prefix}.{part}"] or None
        item.physical_addresses = [PhysicalAddress(label=label, **parts) for label, parts in addresses.items()
                                   if any(parts.values())]
        touched.append("physical_addresses")
    if "Birthday" in fields:
        item.birthday = _date(fields["Birthday"])
        touched.append("birthday")
    if "Body" in fields:
        item.body = Body(str(fields["Body"])) if fields["Body"] else None
        touched.append("body")
    if touched and any(k in fields for k in ("GivenName", "Surname", "EmailAddress1", "CompanyName")):
        item.display_name = _display_name(contact_to_fields(item))
        touched.append("display_name")
    return touched


# -- the connector ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class ResolvedMailbox:
    address: str
    name: str | None
    mailbox_type: str | None


class ExchangeConnector:
    """One Exchange organisation: authentication, per-mailbox accounts, directory checks, stores."""

    def __init__(self, settings: ExchangeSettings, counter: ApiCallCounter | None = None,
                 backoff: BackOff | None = None) -> None:
        if settings.targets_sandbox:
            raise ConnectorError(ErrorKind.CONFIGURATION, "sandbox://local is not resolved",
                                 fix="resolve the connection with resolve_sandbox(settings, endpoints) first")
        if settings.autodiscover or not settings.ews_url:
            raise ConnectorError(ErrorKind.CONFIGURATION, "Autodiscover is not supported yet",
                                 fix="set ewsUrl to the EWS endpoint (https://HOST/EWS/Exchange.asmx)")
        install_log_redaction()
        install_ews_adapter()
        register_salesforce_id_property()
        VerifyingEwsAdapter.register(settings.ews_url, settings.verify)
        self.settings = settings
        self.counter = counter or ApiCallCounter()
        self.backoff = backoff or BackOff()
        self._token_lock = threading.Lock()
        self._token: dict[str, Any] | None = None
        self._token_expires: dt.datetime | None = None
        self._msal: msal.ConfidentialClientApplication | None = None
        self._accounts: dict[str, Account] = {}
        self._protocol: Protocol | None = None

    # -- authentication ----------------------------------------------------------------------------

    def _msal_app(self) -> msal.ConfidentialClientApplication:
        auth = self.settings.auth
        if self._msal is None:
            if auth.client_secret is not None:
                credential: Any = auth.client_secret.reveal()
            elif auth.certificate_key is not None and auth.certificate_thumbprint:
                credential = {"private_key": auth.certificate_key.reveal(), "thumbprint": auth.certificate_thumbprint}
            else:
                raise ConnectorError(ErrorKind.CONFIGURATION, "OAuth needs clientSecret or certificate",
                                     fix="set auth.clientSecret or auth.certificate {privateKey, thumbprint}")
            session = build_session(self.settings.verify, self.counter, label=lambda method, url: "token")
            try:
                self._msal = msal.ConfidentialClientApplication(
                    auth.client_id, client_credential=credential, authority=f"{auth.authority}/{auth.tenant_id}",
                    instance_discovery=False, http_client=session)
            except ValueError as exc:
                # msal validates the authority and the certificate while building the application.
                raise ConnectorError(ErrorKind.CONFIGURATION,
                                     f"OAuth client for tenant {auth.tenant_id} could not be set up ({type(exc).__name__})",
                                     fix="check authority, tenantId and the certificate's private key") from None
        return self._msal

    def access_token(self) -> dict[str, Any]:
        """An app-only token for EWS from msal (served from msal's cache while valid)."""
        with self._token_lock:
            now = dt.datetime.now(dt.timezone.utc)
            if self._token is not None and self._token_expires and now < self._token_expires - TOKEN_REFRESH_MARGIN:
                return self._token
            app = self._msal_app()
            result = self.backoff.run(lambda: app.acquire_token_for_client(scopes=[EWS_OAUTH_SCOPE]),
                                      lambda exc: translate(exc, "Microsoft identity token request"))
            if "access_token" not in result:
                raise from_token_error(result, "Microsoft identity token request")
            lifetime = int(result.get("expires_in") or 3600)
            self._token = {"access_token": result["access_token"], "token_type": result.get("token_type", "Bearer"),
                           "expires_in": lifetime, "expires_at": time.time() + lifetime}
            self._token_expires = now + dt.timedelta(seconds=lifetime)
            return self._token

    def _configuration(self) -> Configuration:
        auth = self.settings.auth
        if auth.type == "service_account":
            assert auth.username and auth.password is not None
            credentials: Any = Credentials(auth.username, auth.password.reveal())
            auth_type = BASIC
        elif auth.type == "oauth_client_credentials":
            credentials = OAuth2AuthorizationCodeCredentials(access_token=self.access_token())
            auth_type = OAUTH2
        else:
            raise ConnectorError(ErrorKind.CONFIGURATION, f"unknown Exchange auth type {auth.type!r}",
                                 fix="use service_account or oauth_client_credentials")
        return Configuration(service_endpoint=self.settings.ews_url, credentials=credentials, auth_type=auth_type,
                             version=Version(build=EWS_BUILD))

    def account(self, mailbox: str) -> Account:
        """The exchangelib Account acting as ``mailbox`` (impersonation unless configured off).
        Building it sends nothing; a token is fetched when the cached one is about to expire."""
        key = mailbox.lower()
        account = self._accounts.get(key)
        if account is not None and self.settings.auth.type == "oauth_client_credentials":
            token = self.access_token()
            if account.protocol.credentials.access_token is not token:
                account.protocol.credentials = OAuth2AuthorizationCodeCredentials(access_token=token)
        if account is None:
            access = IMPERSONATION if self.impersonates else DELEGATE
            account = Account(primary_smtp_address=mailbox, config=self._configuration(), autodiscover=False,
                              access_type=access, default_timezone=UTC)
            self._accounts[key] = account
        return account

    def call(self, context: str, action: Callable[[], T], mailbox: str | None = None) -> T:
        """Run an EWS action with back-off and error translation, counting its requests."""
        def attempt() -> T:
            with counting_ews_calls(self.counter):
                return action()
        return self.backoff.run(attempt, lambda exc: translate(exc, context, mailbox))

    def close(self) -> None:
        """Close the pooled HTTP sessions of every account (exchangelib caches protocols)."""
        for account in self._accounts.values():
            account.protocol.close()
        if self._protocol is not None:
            self._protocol.close()
        self._accounts.clear()
        self._protocol = None

    # -- directory ---------------------------------------------------------------------------------

    @property
    def impersonates(self) -> bool:
        return self.settings.auth.impersonation or self.settings.auth.type != "service_account"

    def protocol(self) -> Protocol:
        """The connection's protocol, for calls that act as the service account itself."""
        if self._protocol is None:
            self._protocol = Protocol(config=self._configuration())
        return self._protocol

    def resolve_mailbox(self, address: str) -> ResolvedMailbox | None:
        """ResolveNames for an address (one call): None when nothing resolves."""
        protocol = self.protocol()
        answers = self.call("resolving a mailbox", lambda: list(protocol.resolve_names([address])), mailbox=address)
        for answer in answers:
            if isinstance(answer, ews_errors.ErrorNameResolutionNoResults):
                return None
            if isinstance(answer, Exception):
                raise translate(answer, "resolving a mailbox", address)
            return ResolvedMailbox(address=answer.email_address, name=answer.name, mailbox_type=answer.mailbox_type)
        return None

    def mailbox_zone(self, mailbox: str) -> EWSTimeZone | None:
        """The mailbox's own time zone, as Outlook on the web keeps it: the ``timezone`` entry (a
        Windows zone name) of the ``OWA.UserOptions`` user configuration in the mailbox's root
        folder. One GetUserConfiguration call, naming the root by its distinguished id (no GetFolder
        first). None when the mailbox has no zone (a user who never opened OWA's options: Exchange
        answers ErrorItemNotFound) or names one exchangelib's CLDR table does not know; the caller
        then uses a zone of its own. EWS has no other read of this setting."""
        account = self.account(mailbox)
        name = UserConfigurationNameMNS(name=OWA_USER_OPTIONS,
                                        folder=DistinguishedFolderId(id="root", mailbox=Mailbox(email_address=mailbox)))
        try:
            options = self.call("reading the mailbox's time zone", lambda: GetUserConfiguration(account=account).get(
                user_configuration_name=name, properties="Dictionary"), mailbox=mailbox)
        except ConnectorError as error:
            if isinstance(error.__cause__, ews_errors.ErrorItemNotFound):
                return None
            raise
        windows_name = (options.dictionary or {}).get(OWA_TIME_ZONE_KEY)
        if not isinstance(windows_name, str):
            return None
        try:
            return EWSTimeZone.from_ms_id(windows_name)
        except ews_errors.UnknownTimeZone:
            return None

    def check_mailbox_access(self, mailbox: str) -> Contacts:
        """GetFolder on the mailbox's Contacts folder: proves impersonation (or delegation) works."""
        account = self.account(mailbox)
        return self.call("opening the Contacts folder", lambda: account.contacts, mailbox=mailbox)

    def contact_store(self, mailbox: str) -> "ExchangeContactStore":
        return ExchangeContactStore(self, mailbox)


# -- the contact record store ----------------------------------------------------------------------

# exchangelib raises ErrorIrresolvableConflict and ErrorServerBusy out of a whole batch, losing
# the other items' outcomes (some of which were already applied). These services hand them back as
# per-item results instead, so a batch reports every item and only busy items are sent again.
_ITEM_RESULT_ERRORS = (ews_errors.ErrorIrresolvableConflict, ews_errors.ErrorServerBusy)


class _CreateItems(CreateItem):
    ERRORS_TO_CATCH_IN_RESPONSE = CreateItem.ERRORS_TO_CATCH_IN_RESPONSE + _ITEM_RESULT_ERRORS


class _UpdateItems(UpdateItem):
    ERRORS_TO_CATCH_IN_RESPONSE = UpdateItem.ERRORS_TO_CATCH_IN_RESPONSE + _ITEM_RESULT_ERRORS


class _DeleteItems(DeleteItem):
    ERRORS_TO_CATCH_IN_RESPONSE = DeleteItem.ERRORS_TO_CATCH_IN_RESPONSE + _ITEM_RESULT_ERRORS


_ITEM_ERROR_KINDS = frozenset({ErrorKind.CONFLICT, ErrorKind.NOT_FOUND, ErrorKind.INVALID_REQUEST})


class MailboxItems:
    """One mailbox's items through GetItem, CreateItem, UpdateItem and DeleteItem in batches of
    ``EWS_BATCH``, for the contact and the calendar store alike (``noun`` words their messages).

    Writes answer per item: each answer becomes the ``WriteResult`` of its op in ``results`` (by
    the op's index in the store's batch), and items the server answered ErrorServerBusy for are
    sent again after its BackOffMilliseconds, within the connector's back-off budget, while the
    others keep the outcome they already had.
    """

    def __init__(self, connector: ExchangeConnector, mailbox: str, noun: str) -> None:
        self.connector = connector
        self.mailbox = mailbox
        self.noun = noun

    def get(self, ids: Sequence[str], only_fields: Sequence[str], context: str) -> dict[str, Any]:
        """GetItem for ``ids`` (duplicates once), by id: the item or the exception Exchange answered."""
        account = self.connector.account(self.mailbox)
        found: dict[str, Any] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), EWS_BATCH):
            answers = self.connector.call(context, lambda chunk=chunk: list(account.fetch(
                ids=[ItemId(id=i) for i in chunk], only_fields=list(only_fields), chunk_size=EWS_BATCH)),
                mailbox=self.mailbox)
            found.update(zip(chunk, answers))
        return found

    def write(self, batch: Sequence[WriteOp], read_fields: Sequence[str],
              create: Callable[[list[tuple[int, CreateOp]], list[WriteResult | None]], None],
              update: Callable[[list[tuple[int, UpdateOp, Any]], list[WriteResult | None]], None],
              delete: Callable[[list[tuple[int, DeleteOp]], list[WriteResult | None]], None]) -> list[WriteResult]:
        """A store's write batch as EWS takes it: ``create`` gets the creates; updates and deletes
        are preceded by one GetItem (``read_fields``) that checks each item's ChangeKey
        (:meth:`refusal`; DeleteItem takes none), and ``update`` gets each item as read, so a
        partial change is expressed against the item's current values. ``update`` and ``delete``
        see only the ops that may go ahead. Each callback fills ``results`` at its ops' indexes
        (the op's position in ``batch``); an op left without a result failed, retryably."""
        if len(batch) > EWS_BATCH:
            raise ValueError(f"an EWS write batch holds at most {EWS_BATCH} ops, got {len(batch)}")
        results: list[WriteResult | None] = [None] * len(batch)
        creates = [(i, op) for i, op in enumerate(batch) if isinstance(op, CreateOp)]
        updates = [(i, op) for i, op in enumerate(batch) if isinstance(op, UpdateOp)]
        deletes = [(i, op) for i, op in enumerate(batch) if isinstance(op, DeleteOp)]
        if creates:
            create(creates, results)
        guarded = [op.record_id for _, op in updates + deletes]
        current = self.get(guarded, read_fields, f"reading {self.noun}s before writing") if guarded else {}
        for index, op in updates + deletes:
            results[index] = self.refusal(current.get(op.record_id), op.expected_version)
        allowed = [(i, op, current[op.record_id]) for i, op in updates if results[i] is None]
        if allowed:
            update(allowed, results)
        doomed = [(i, op) for i, op in deletes if results[i] is None]
        if doomed:
            delete(doomed, results)
        return [r if r is not None else WriteResult.failed("no result from Exchange", retryable=True)
                for r in results]

    def refusal(self, existing: Any, expected_version: str) -> WriteResult | None:
        """Why an update or delete must not go ahead, judged from the item read just before it:
        gone (not found), unreadable (failed), or changed since the plan was made (its ChangeKey
        moved: conflict). None when it may go ahead. DeleteItem takes no ChangeKey, and an update
        must be expressed against the values the plan saw, hence the read."""
        if existing is None or isinstance(existing, ews_errors.ErrorItemNotFound):
            return WriteResult.not_found()
        if isinstance(existing, Exception):
            error = translate(existing, f"reading the {self.noun}", self.mailbox)
            return WriteResult.failed(error.message, retryable=error.retryable)
        if existing.changekey != expected_version:
            return WriteResult.conflict(f"the {self.noun} changed in Exchange since the plan was made")
        return None

    def create(self, context: str, items: Sequence[tuple[int, Any]], folder: Any, send_invitations: str,
               results: list[WriteResult | None]) -> None:
        """CreateItem of ``(index, item)`` into ``folder``, saved only (no draft is sent);
        ``send_invitations`` is EWS's SendMeetingInvitations."""
        account = self.connector.account(self.mailbox)
        self._send(context, items, lambda chunk: list(_CreateItems(account=account, chunk_size=EWS_BATCH).call(
            items=chunk, folder=folder, message_disposition=SAVE_ONLY, send_meeting_invitations=send_invitations)),
            results)

    def update(self, context: str, edits: Sequence[tuple[int, UpdateOp, Any, list[str]]], send_updates: str,
               results: list[WriteResult | None]) -> None:
        """UpdateItem of each ``(index, op, item, names of the fields set on it)``, conditional on the
        ChangeKey the plan saw (NeverOverwrite: an item that moved since answers
        ErrorIrresolvableConflict, a ``conflict``). An edit that set nothing is done as it is,
        without a call. ``send_updates`` is EWS's SendMeetingInvitationsOrCancellations."""
        changes = []
        for index, op, item, touched in edits:
            if not touched:
                results[index] = WriteResult.ok(op.record_id, op.expected_version)
                continue
            item.changekey = op.expected_version
            changes.append((index, (item, touched)))
        account = self.connector.account(self.mailbox)
        self._send(context, changes, lambda chunk: list(_UpdateItems(account=account, chunk_size=EWS_BATCH).call(
            items=chunk, conflict_resolution=NEVER_OVERWRITE, message_disposition=SAVE_ONLY,
            send_meeting_invitations_or_cancellations=send_updates, suppress_read_receipts=True)), results)

    def delete(self, context: str, doomed: Sequence[tuple[int, ItemId]], send_cancellations: str,
               results: list[WriteResult | None]) -> None:
        """DeleteItem of ``(index, item id)`` into Deleted Items (the user can still recover it);
        ``send_cancellations`` is EWS's SendMeetingCancellations."""
        account = self.connector.account(self.mailbox)
        self._send(context, doomed, lambda chunk: list(_DeleteItems(account=account, chunk_size=EWS_BATCH).call(
            items=chunk, delete_type=MOVE_TO_DELETED_ITEMS, send_meeting_cancellations=send_cancellations,
            affected_task_occurrences=ALL_OCCURRENCES, suppress_read_receipts=True)), results)

    def _send(self, context: str, items: Sequence[tuple[int, Any]], send: Callable[[list[Any]], list[Any]],
              results: list[WriteResult | None]) -> None:
        if not items:
            return
        pending = list(items)
        backoff = self.connector.backoff
        for retry in range(backoff.attempts):
            try:
                answers = self.connector.call(context, lambda: send([payload for _, payload in pending]),
                                              mailbox=self.mailbox)
            except ConnectorError as error:
                # A server may answer a one-item request with a fault instead of an item error.
                if len(pending) != 1 or error.kind not in _ITEM_ERROR_KINDS or error.__cause__ is None:
                    raise
                answers = [error.__cause__]
            busy = [(entry, answer) for entry, answer in zip(pending, answers)
                    if isinstance(answer, ews_errors.ErrorServerBusy)]
            for (index, _), answer in zip(pending, answers):
                if not isinstance(answer, ews_errors.ErrorServerBusy) or retry == backoff.attempts - 1:
                    results[index] = self._result(answer)
            if not busy or retry == backoff.attempts - 1:
                return
            backoff.sleep(backoff.delay(retry, max((a.back_off or 0) for _, a in busy) or None))
            pending = [entry for entry, _ in busy]

    def _result(self, answer: Any) -> WriteResult:
        if answer is True:
            return WriteResult.ok(None, None)
        if not isinstance(answer, Exception):
            item_id, changekey = (answer.id, answer.changekey) if hasattr(answer, "changekey") else answer
            return WriteResult.ok(item_id, changekey)
        error = translate(answer, f"writing the {self.noun}", self.mailbox)
        if error.kind is ErrorKind.CONFLICT:
            return WriteResult.conflict(error.message)
        if error.kind is ErrorKind.NOT_FOUND:
            return WriteResult.not_found(error.message)
        return WriteResult.failed(error.message, retryable=error.retryable)


class ExchangeContactStore(RecordStore):
    """The contacts in ``Contacts/Salesforce_Sync`` of one mailbox.

    The folder is looked up, never created, while listing (a plan changes nothing); the first
    create makes it. The version token is the ChangeKey; the cursor wraps the SyncFolderItems
    state together with the folder's id, so a cycle with nothing to do costs one SyncFolderItems
    call and a recreated folder is noticed (not found: :class:`CursorExpired`).
    """

    side = Side.EXCHANGE

    def __init__(self, connector: ExchangeConnector, mailbox: str) -> None:
        self.connector = connector
        self.mailbox = mailbox
        self.items = MailboxItems(connector, mailbox, "contact")
        self._folder: Contacts | None = None

    @property
    def max_batch(self) -> int:
        return EWS_BATCH

    @property
    def account(self) -> Account:
        return self.connector.account(self.mailbox)

    def _call(self, context: str, action: Callable[[], T]) -> T:
        return self.connector.call(context, action, mailbox=self.mailbox)

    def sync_folder(self, create: bool = False) -> Contacts | None:
        """The Salesforce_Sync folder (FindFolder among the Contacts folder's children); made
        (CreateFolder) only when ``create``."""
        if self._folder is not None:
            return self._folder
        account = self.account
        contacts = self._call("opening the Contacts folder", lambda: account.contacts)
        children = self._call("finding the Salesforce_Sync folder", lambda: list(
            FolderCollection(account=account, folders=[contacts]).find_folders(
                depth=SHALLOW, additional_fields=None)))
        for child in children:
            if isinstance(child, Exception):
                raise translate(child, "finding the Salesforce_Sync folder", self.mailbox)
            if getattr(child, "name", None) == SYNC_FOLDER_NAME:
                self._folder = child
                return child
        if not create:
            return None
        folder = Contacts(parent=contacts, name=SYNC_FOLDER_NAME)
        self._call("creating the Salesforce_Sync folder", folder.save)
        self._folder = folder
        return folder

    def _record(self, item: Contact) -> SourceRecord:
        modified = item.last_modified_time
        return SourceRecord(id=item.id, version=item.changekey, fields=contact_to_fields(item),
                            salesforce_id_stamp=getattr(item, STAMP_FIELD) or None,
                            modified_at=dt.datetime.fromtimestamp(modified.timestamp(), dt.timezone.utc) if modified else None)

    def fetch(self, ids: Sequence[str]) -> list[SourceRecord]:
        records = []
        for item in self.items.get(ids, CONTACT_FETCH_FIELDS, "fetching contacts").values():
            if isinstance(item, ews_errors.ErrorItemNotFound):
                continue
            if isinstance(item, Exception):
                raise translate(item, "fetching contacts", self.mailbox)
            if isinstance(item, Contact):
                records.append(self._record(item))
        return records

    def list_changes(self, cursor: str | None) -> ChangePage:
        """One SyncFolderItems call per page (IdOnly, up to 512 changes), then GetItem in chunks of
        100 for created and updated items. ``complete`` once IncludesLastItemInRange."""
        start = {"v": CURSOR_FORMAT, "folder": None, "state": None}
        state = decode_cursor(cursor, "Exchange") if cursor else start
        if state.get("folder"):
            # The cursor knows the folder: no lookup calls, and a recreated folder shows as not found.
            folder = Contacts(root=Root(account=self.account), id=state["folder"])
        else:
            found = self.sync_folder()
            if found is None:
                return ChangePage([], [], encode_cursor(start), complete=True)
            folder = found
        service = SyncFolderItems(account=self.account)

        def sync() -> list[tuple[str, Any]]:
            return list(service.call(folder=folder, shape=ID_ONLY, additional_fields=set(),
                                     sync_state=state.get("state"), ignore=None,
                                     max_changes_returned=SYNC_PAGE, sync_scope=None))
        try:
            changes = self._call("listing contact changes", sync)
        except ConnectorError as error:
            if isinstance(error.__cause__, (ews_errors.ErrorInvalidSyncStateData, ews_errors.ErrorFolderNotFound)):
                raise CursorExpired(ErrorKind.NOT_FOUND,
                                    f"the {SYNC_FOLDER_NAME} folder of {self.mailbox} or its sync state is gone",
                                    fix="a full listing runs instead (list_changes(None))") from None
            raise
        changed: dict[str, None] = {}
        deleted: list[str] = []
        for change_type, item in changes:
            if change_type == SyncFolderItems.DELETE:
                deleted.append(item.id)
                changed.pop(item.id, None)
            elif change_type in (SyncFolderItems.CREATE, SyncFolderItems.UPDATE):
                changed[item.id] = None
        records = self.fetch(list(changed))
        complete = bool(service.includes_last_item_in_range) or service.sync_state == state.get("state")
        next_cursor = encode_cursor({"v": CURSOR_FORMAT, "folder": folder.id, "state": service.sync_state})
        return ChangePage(records, deleted, next_cursor, complete=complete)

    # -- writes ------------------------------------------------------------------------------------

    def write(self, batch: Sequence[WriteOp]) -> list[WriteResult]:
        """Creates by CreateItem (into Salesforce_Sync, made by the first create); updates by
        UpdateItem with the expected ChangeKey and NeverOverwrite (a moved item answers
        ErrorIrresolvableConflict: ``conflict``); deletes by DeleteItem into Deleted Items
        (recoverable by the user). The GetItem before updates and deletes also supplies the
        indexed entries (phones, addresses) an update must resend whole."""
        return self.items.write(batch, CONTACT_FETCH_FIELDS, self._create, self._update, self._delete)

    def _create(self, creates: list[tuple[int, CreateOp]], results: list[WriteResult | None]) -> None:
        folder = self.sync_folder(create=True)
        assert folder is not None
        items = []
        for index, op in creates:
            item = Contact(account=self.account, folder=folder)
            try:
                apply_fields(item, op.fields)
            except ConnectorError as error:
                results[index] = WriteResult.failed(error.message, retryable=False)
                continue
            item.display_name = _display_name(op.fields)
            if op.salesforce_id_stamp:
                setattr(item, STAMP_FIELD, op.salesforce_id_stamp)
            items.append((index, item))
        self.items.create("creating contacts", items, folder, SEND_TO_NONE, results)

    def _update(self, updates: list[tuple[int, UpdateOp, Contact]], results: list[WriteResult | None]) -> None:
        edits = []
        for index, op, existing in updates:
            try:
                touched = apply_fields(existing, op.fields)
            except ConnectorError as error:
                results[index] = WriteResult.failed(error.message, retryable=False)
                continue
            if op.salesforce_id_stamp:
                setattr(existing, STAMP_FIELD, op.salesforce_id_stamp)
                touched.append(STAMP_FIELD)
            edits.append((index, op, existing, touched))
        self.items.update("updating contacts", edits, SEND_TO_NONE, results)

    def _delete(self, deletes: list[tuple[int, DeleteOp]], results: list[WriteResult | None]) -> None:
        doomed = [(index, ItemId(id=op.record_id, changekey=op.expected_version)) for index, op in deletes]
        self.items.delete("deleting contacts", doomed, SEND_TO_NONE, results)
