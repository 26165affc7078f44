"""Salesforce over the REST API, through simple-salesforce.

Logins (JWT bearer, client credentials, username-password) are token requests we send ourselves
with our own verifying session, because simple-salesforce only knows login hosts under
salesforce.com; the token then builds ``Salesforce(instance_url=..., session_id=...)``. An expired
session is renewed once per call. Every call goes through :meth:`SalesforceConnector.call`:
bounded back-off on REQUEST_LIMIT_EXCEEDED, 5xx and connection errors, and translation into
:class:`ConnectorError`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeVar

import jwt
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession

from ..sync.ports import (ChangePage, CreateOp, DeleteOp, LookedUp, RecordStore, Side, SourceRecord, UpdateOp,
                          WriteOp, WriteResult, WriteStatus)
from .batching import chunks, decode_cursor, encode_cursor
from .errors import (ConnectorError, CursorExpired, ErrorKind, install_log_redaction, salesforce_error_codes,
                     salesforce_record_error, translate)
from .http import ApiCallCounter, build_session
from .retry import BackOff
from .settings import SalesforceSettings

T = TypeVar("T")

QUERY_PAGE_SIZE = 2000          # the most a SOQL page may carry (Sforce-Query-Options batchSize)
COLLECTION_SIZE = 200           # records per sObject collection call
IN_LIST_SIZE = 200              # values per SOQL IN list: keeps each query far below the 100,000-char limit
DELETED_HORIZON = timedelta(days=15)   # getDeleted reaches this far back at most
CURSOR_OVERLAP = timedelta(seconds=5)  # re-read a little of the previous window: stamps are per second
JWT_LIFETIME = timedelta(minutes=3)

DEFAULT_CONTACT_FIELDS: tuple[str, ...] = (
    "FirstName", "LastName", "Email", "Phone", "MobilePhone", "HomePhone", "OtherPhone", "Fax",
    "Title", "Department", "AssistantName", "AssistantPhone", "Birthdate", "Description",
    "MailingStreet", "MailingCity", "MailingState", "MailingPostalCode", "MailingCountry",
    "OtherStreet", "OtherCity", "OtherState", "OtherPostalCode", "OtherCountry",
    "AccountId", "Account.Name",
)
_SYSTEM_FIELDS = ("Id", "OwnerId", "SystemModstamp", "LastModifiedDate")
_NOT_RECORD_FIELDS = frozenset({"Id", "SystemModstamp", "LastModifiedDate"})  # carried as id / version / modified_at


# -- SOQL ------------------------------------------------------------------------------------------

_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_SOQL_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
                 '"': '\\"'}


def soql_field(name: str) -> str:
    """A field name checked against injection (letters, digits, underscores, dots)."""
    if not _FIELD_NAME.match(name):
        raise ConnectorError(ErrorKind.CONFIGURATION, f"not a Salesforce field name: {name!r}",
                             fix="use the field's API name, e.g. MailingCountry or Nickname__c")
    return name


def soql_literal(value: Any) -> str:
    """A value as a SOQL literal: strings quoted and escaped, booleans, numbers, null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return "'" + "".join(_SOQL_ESCAPES.get(c, c) for c in str(value)) + "'"


def _like_prefix(value: Any) -> str:
    text = "".join(_SOQL_ESCAPES.get(c, c) for c in str(value))
    return "'" + text.replace("%", "\\%").replace("_", "\\_") + "%'"


def soql_filter(field: str, operator: str, value: Any = None) -> str:
    """One dataSet filter as a SOQL condition."""
    name = soql_field(field)
    if operator == "equals":
        return f"{name} = {soql_literal(value)}"
    if operator == "not_equals":
        return f"{name} != {soql_literal(value)}"
    if operator in ("in", "not_in"):
        values = value if isinstance(value, (list, tuple)) else [value]
        listed = ", ".join(soql_literal(v) for v in values)
        return f"{name} {'IN' if operator == 'in' else 'NOT IN'} ({listed})"
    if operator == "starts_with":
        return f"{name} LIKE {_like_prefix(value)}"
    if operator == "is_null":
        return f"{name} = null"
    if operator == "is_not_null":
        return f"{name} != null"
    raise ConnectorError(ErrorKind.CONFIGURATION, f"unknown filter operator {operator!r}",
                         fix="use equals, not_equals, in, not_in, starts_with, is_null or is_not_null")


def flatten_record(record: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A REST record with nested relationships as ``{"Account.Name": ...}``, without ``attributes``:
    the field names a configuration uses are the keys (a null relationship has no keys)."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            flat.update(flatten_record(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def parse_stamp(value: str | None) -> datetime | None:
    """A Salesforce dateTime as the REST API writes it (``2026-03-03T17:00:00.000+0000``), or None."""
    if not value:
        return None
    return datetime.strptime(value.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


def record_results(indexes: Sequence[int], answer: Sequence[Mapping[str, Any]], results: list[WriteResult | None],
                   deleting: bool) -> None:
    """Put an sObject collection's per-record answers into ``results`` at ``indexes`` (the batch
    positions of the records sent, in order): ok with the new id, not found, or failed with the
    service's message and whether a retry may help."""
    for index, outcome in zip(indexes, answer):
        if outcome.get("success"):
            results[index] = WriteResult.ok(None if deleting else outcome.get("id"), None)
            continue
        error = salesforce_record_error(outcome.get("errors") or [])
        if error.kind is ErrorKind.NOT_FOUND:
            results[index] = WriteResult.not_found(error.message)
        else:
            results[index] = WriteResult.failed(error.message, retryable=error.retryable)


def fill_versions(results: list[WriteResult | None], versions: Mapping[str, str]) -> None:
    """Give the successful writes in ``results`` their new version tokens (collections answer
    ids only; ``versions`` is what :meth:`SalesforceConnector.versions` read back)."""
    for index, result in enumerate(results):
        if result is not None and result.status is WriteStatus.OK and result.record_id:
            results[index] = WriteResult.ok(result.record_id, versions.get(result.record_id))


def written_ids(results: Sequence[WriteResult | None]) -> list[str]:
    """The ids of the records a batch wrote successfully (whose versions are to be read back)."""
    return [r.record_id for r in results if r is not None and r.status is WriteStatus.OK and r.record_id]


# -- the connector ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SalesforceUser:
    id: str
    username: str
    email: str | None
    name: str | None
    is_active: bool
    profile_name: str | None
    time_zone: str | None


class SalesforceConnector:
    """One Salesforce org: login, directory look-ups and per-user record stores."""

    def __init__(self, settings: SalesforceSettings, counter: ApiCallCounter | None = None,
                 backoff: BackOff | None = None) -> None:
        if settings.targets_sandbox:
            raise ConnectorError(ErrorKind.CONFIGURATION, "sandbox://local is not resolved",
                                 fix="resolve the connection with resolve_sandbox(settings, endpoints) first")
        install_log_redaction()
        self.settings = settings
        self.counter = counter or ApiCallCounter()
        self.backoff = backoff or BackOff()
        self.session = build_session(settings.verify, self.counter)
        self.session.hooks["response"].append(self._note_server_time)
        self._client: Salesforce | None = None
        self._lock = threading.Lock()
        self.server_time: datetime | None = None

    def _note_server_time(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """Keep the server's clock (the Date header): change windows are cut on the server's time."""
        header = response.headers.get("Date")
        if header:
            self.server_time = parsedate_to_datetime(header).astimezone(timezone.utc)

    # -- authentication ----------------------------------------------------------------------------

    def _token_request(self) -> dict[str, Any]:
        auth = self.settings.auth
        login_url = self.settings.login_url
        if auth.type == "jwt_bearer":
            assert auth.private_key is not None and auth.username
            now = datetime.now(timezone.utc)
            claims = {"iss": auth.client_id, "sub": auth.username, "aud": login_url,
                      "exp": int((now + JWT_LIFETIME).timestamp())}
            try:
                assertion = jwt.encode(claims, auth.private_key.reveal(), algorithm="RS256")
            except (ValueError, TypeError, jwt.PyJWTError) as exc:
                raise ConnectorError(ErrorKind.CONFIGURATION,
                                     f"the JWT signing key {auth.private_key} is not a usable RSA private key "
                                     f"({type(exc).__name__})", fix="point privateKey at a PEM RSA private key") from None
            url, data = f"{login_url}/services/oauth2/token", {
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
            basic = None
        elif auth.type == "client_credentials":
            assert auth.client_secret is not None
            # The client credentials flow runs on the org's own (My Domain) host, not on login.
            url, data = f"{self.settings.instance_url}/services/oauth2/token", {"grant_type": "client_credentials"}
            basic = (auth.client_id, auth.client_secret.reveal())
        elif auth.type == "password":
            assert auth.password is not None and auth.username
            password = auth.password.reveal() + (auth.security_token.reveal() if auth.security_token else "")
            data = {"grant_type": "password", "client_id": auth.client_id, "username": auth.username,
                    "password": password}
            if auth.client_secret is not None:
                data["client_secret"] = auth.client_secret.reveal()
            url, basic = f"{login_url}/services/oauth2/token", None
        else:
            raise ConnectorError(ErrorKind.CONFIGURATION, f"unknown Salesforce auth type {auth.type!r}",
                                 fix="use jwt_bearer, client_credentials or password")
        response = self.session.post(url, data=data, auth=basic, timeout=60,
                                     headers={"Accept": "application/json"})
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code >= 500:
            raise ConnectorError(ErrorKind.UNAVAILABLE, f"Salesforce login: HTTP {response.status_code}",
                                 fix="retried with back-off", retryable=True)
        if response.status_code != 200 or "access_token" not in body:
            raise self._login_error(body)
        return body

    def _login_error(self, body: Mapping[str, Any]) -> ConnectorError:
        error = str(body.get("error") or "unknown_error")
        description = str(body.get("error_description") or "")
        auth = self.settings.auth
        hints = {
            "jwt_bearer": "check clientId, the username, that the connected app holds the certificate "
                          "matching privateKey, and that the user is pre-authorised for the app",
            "client_credentials": "check clientId and clientSecret, and that the app has a run-as user",
            "password": "check the username, password and security token (or the org's IP ranges)",
        }
        detail = f"{error}: {description}" if description and "@" not in description else error
        return ConnectorError(ErrorKind.AUTHENTICATION, f"Salesforce login ({auth.type}) failed: {detail}",
                              fix=hints.get(auth.type, "check the connection's auth settings"))

    def login(self) -> Salesforce:
        """Get a fresh token and build the client (retried on transient failures)."""
        def attempt() -> Salesforce:
            token = self._token_request()
            return Salesforce(instance_url=str(token["instance_url"]), session_id=str(token["access_token"]),
                              session=self.session, version=self.settings.api_version)
        client = self.backoff.run(attempt, lambda exc: translate(exc, "login"))
        with self._lock:
            self._client = client
        return client

    @property
    def client(self) -> Salesforce:
        with self._lock:
            client = self._client
        return client if client is not None else self.login()

    def call(self, context: str, action: Callable[[Salesforce], T]) -> T:
        """Run ``action`` with the client: one re-login on INVALID_SESSION_ID, back-off on limits and
        transient failures, errors translated (``context`` names what we were doing)."""
        def attempt() -> T:
            client = self.client
            try:
                return action(client)
            except SalesforceExpiredSession as exc:
                codes = {code for code, _ in salesforce_error_codes(exc.content)}
                if "INVALID_SESSION_ID" not in codes:
                    raise
                return action(self.login())
        return self.backoff.run(attempt, lambda exc: translate(exc, context))

    # -- queries -----------------------------------------------------------------------------------

    def query_page(self, soql: str, context: str, locator: str | None = None) -> dict[str, Any]:
        """One page (up to 2,000 records) of a SOQL query; ``locator`` (a ``nextRecordsUrl``)
        continues an earlier answer."""
        headers = {"Sforce-Query-Options": f"batchSize={QUERY_PAGE_SIZE}"}
        if locator:
            return self.call(context, lambda sf: sf.query_more(locator, identifier_is_url=True, headers=headers))
        return self.call(context, lambda sf: sf.query(soql, headers=headers))

    def query_pages(self, soql: str, context: str) -> Iterator[list[dict[str, Any]]]:
        """The records of a SOQL query, page by page, relationships flattened (``Account.Name``)."""
        page = self.query_page(soql, context)
        while True:
            yield [flatten_record(r) for r in page.get("records", [])]
            if page.get("done", True) or not page.get("nextRecordsUrl"):
                return
            page = self.query_page(soql, context, page["nextRecordsUrl"])

    def query_all(self, soql: str, context: str) -> list[dict[str, Any]]:
        return [record for page in self.query_pages(soql, context) for record in page]

    # -- directory ---------------------------------------------------------------------------------

    _USER_FIELDS = "Id, Username, Email, Name, IsActive, Profile.Name, TimeZoneSidKey"

    @staticmethod
    def _user(record: Mapping[str, Any]) -> SalesforceUser:
        return SalesforceUser(id=record["Id"], username=record["Username"], email=record.get("Email"),
                              name=record.get("Name"), is_active=bool(record.get("IsActive")),
                              profile_name=record.get("Profile.Name"), time_zone=record.get("TimeZoneSidKey"))

    def users_by_username(self, usernames: Sequence[str]) -> dict[str, SalesforceUser]:
        """Users by username (lower-cased keys); absent usernames are absent from the answer."""
        found: dict[str, SalesforceUser] = {}
        for chunk in chunks(sorted(set(usernames)), IN_LIST_SIZE):
            soql = (f"SELECT {self._USER_FIELDS} FROM User WHERE Username IN "
                    f"({', '.join(soql_literal(u) for u in chunk)})")
            for record in self.query_all(soql, "looking up users"):
                user = self._user(record)
                found[user.username.lower()] = user
        return found

    def users_by_profile(self, profile_names: Sequence[str]) -> list[SalesforceUser]:
        """Every user (active or not: the caller reports inactive ones) holding one of the profiles."""
        users: list[SalesforceUser] = []
        for chunk in chunks(sorted(set(profile_names)), IN_LIST_SIZE):
            soql = (f"SELECT {self._USER_FIELDS} FROM User WHERE Profile.Name IN "
                    f"({', '.join(soql_literal(p) for p in chunk)}) ORDER BY Username")
            users.extend(self._user(r) for r in self.query_all(soql, "looking up users by profile"))
        return users

    def accounts_by_name(self, names: Sequence[str]) -> dict[str, str | None]:
        """Account id for each name under the exactly-one rule: the id when exactly one Account has
        that name (case-insensitive, as SOQL compares), else None (none, or ambiguous)."""
        matches: dict[str, list[str]] = {name.lower(): [] for name in names if name}
        for chunk in chunks(sorted(matches), IN_LIST_SIZE):
            soql = f"SELECT Id, Name FROM Account WHERE Name IN ({', '.join(soql_literal(n) for n in chunk)})"
            for record in self.query_all(soql, "looking up accounts"):
                matches.setdefault(str(record["Name"]).lower(), []).append(record["Id"])
        return {name: (ids[0] if len(ids) == 1 else None) for name in names if name
                for ids in [matches.get(name.lower(), [])]}

    def contact_store(self, owner_id: str, scope: Literal["owned", "all"] = "owned",
                      filters: Sequence[Mapping[str, Any]] = (),
                      fields: Sequence[str] = DEFAULT_CONTACT_FIELDS,
                      feed: ChangeFeed | None = None) -> "SalesforceContactStore":
        return SalesforceContactStore(self, owner_id, scope, filters, fields, feed)

    def deleted_ids(self, sobject: str, since: datetime) -> list[str]:
        """getDeleted for ``sobject`` (Contact, Event) from ``since``: org-wide ids; ids a user
        never had are ignored upstream.

        ``earliestDateAvailable`` is not compared with the window: a cursor taken (with its overlap)
        just after an org or sandbox began would read as expired, so only the 15-day horizon (ours,
        and the service refusing an older start with INVALID_REPLICATION_DATE, a ``CursorExpired``)
        decides that a cursor has expired. A recycle-bin purge inside the horizon can hide deletes
        until the next full listing; that is a known gap."""
        end = (self.server_time or datetime.now(timezone.utc)) + timedelta(minutes=1)
        try:
            answer = self.call(f"listing deleted {sobject} records",
                               lambda sf: getattr(sf, soql_field(sobject)).deleted(since, end))
        except ConnectorError as error:
            codes = {code for code, _ in salesforce_error_codes(getattr(error.__cause__, "content", None))}
            if "INVALID_REPLICATION_DATE" in codes:
                raise CursorExpired(ErrorKind.NOT_FOUND, "Salesforce no longer keeps deletes back to the change cursor",
                                    fix="a full listing with an id diff runs instead (list_changes(None))") from None
            raise
        return [str(d["id"]) for d in answer.get("deletedRecords", [])]

    def change_feeds(self, sobject: str, data_sets: Mapping[str, Sequence[str]],
                     since: datetime) -> dict[str, ChangeFeed]:
        """What changed in the org's ``sobject`` records (Contact, Event) since ``since``, for many
        users at once.

        ``data_sets`` maps a data-set filter (``contact_filter_condition``, "" for none) to the
        fields its users read. Per filter one SOQL over SystemModstamp with no owner condition
        (paged), plus, for a real filter, one query for the ids that changed outside it; one
        getDeleted serves them all. So a cycle's "what changed" costs O(data sets), not O(users):
        the stores demultiplex the answer by OwnerId. The filters stay in SOQL rather than being
        evaluated here, so the org's own comparison rules (case, nulls, id forms) decide membership
        exactly as a per-user query would."""
        name = soql_field(sobject)
        deleted = tuple(self.deleted_ids(name, since))
        next_since = ((self.server_time or datetime.now(timezone.utc)) - CURSOR_OVERLAP).isoformat()
        stamp = soql_literal(since)
        feeds: dict[str, ChangeFeed] = {}
        for condition, fields in data_sets.items():
            read = list(dict.fromkeys([*_SYSTEM_FIELDS, *(soql_field(f) for f in fields)]))
            where = f"SystemModstamp > {stamp}" + (f" AND {condition}" if condition else "")
            changed = tuple(record for page in self.query_pages(
                f"SELECT {', '.join(read)} FROM {name} WHERE {where} ORDER BY SystemModstamp, Id",
                f"listing changed {name} records of the org") for record in page)
            left = frozenset(
                r["Id"] for r in self.query_all(
                    f"SELECT Id FROM {name} WHERE SystemModstamp > {stamp} AND NOT ({condition})",
                    f"listing {name} records that left a data set")) if condition else frozenset()
            feeds[condition] = ChangeFeed(since, next_since, frozenset(read), condition, changed, left, deleted)
        return feeds

    # -- writes shared by the record stores -------------------------------------------------------

    def versions(self, sobject: str, ids: Sequence[str]) -> dict[str, str]:
        """SystemModstamp of each named record that exists (one query per 200 ids)."""
        found: dict[str, str] = {}
        for chunk in chunks(list(dict.fromkeys(ids)), IN_LIST_SIZE):
            soql = (f"SELECT Id, SystemModstamp FROM {soql_field(sobject)} WHERE Id IN "
                    f"({', '.join(soql_literal(i) for i in chunk)})")
            for record in self.query_all(soql, f"reading {sobject} versions"):
                found[record["Id"]] = record["SystemModstamp"]
        return found

    def write_collections(self, sobject: str, creates: Sequence[tuple[int, Mapping[str, Any]]],
                          updates: Sequence[tuple[int, Mapping[str, Any]]], deletes: Sequence[tuple[int, str]],
                          results: list[WriteResult | None]) -> None:
        """Send one batch's writes of ``sobject`` as sObject collections, one call per kind present
        (POST creates, PATCH updates, DELETE ids), never all-or-none; each entry is (the op's
        position in the batch, its body or id) and its answer lands in ``results`` there."""
        for method, items in (("POST", creates), ("PATCH", updates)):
            if items:
                body = {"allOrNone": False, "records": [record for _, record in items]}
                answer = self.call(f"writing {sobject} records ({method})", lambda sf, body=body, method=method:
                                   sf.restful("composite/sobjects", method=method, json=body))
                record_results([index for index, _ in items], answer or [], results, deleting=False)
        if deletes:
            ids = ",".join(record_id for _, record_id in deletes)
            answer = self.call(f"deleting {sobject} records", lambda sf: sf.restful(
                "composite/sobjects", params={"ids": ids, "allOrNone": "false"}, method="DELETE"))
            record_results([index for index, _ in deletes], answer or [], results, deleting=True)


# -- the contact record store ----------------------------------------------------------------------

def decode_change_cursor(cursor: str) -> dict[str, Any]:
    """The listing position inside a Salesforce store's cursor."""
    return decode_cursor(cursor, "Salesforce")


def next_window_start(connector: SalesforceConnector, state: Mapping[str, Any]) -> str:
    """Where a store's next change window starts: the server's time when this listing began
    (``started``, carried through a paged listing), less the overlap (stamps are per second)."""
    if state.get("started"):
        return str(state["started"])
    now = connector.server_time or datetime.now(timezone.utc)
    return (now - CURSOR_OVERLAP).isoformat()


def require_deletes_reach(connector: SalesforceConnector, since: datetime) -> None:
    """Refuse a change window getDeleted cannot cover (older than the 15-day horizon) before any
    call: the engine then lists in full and diffs ids against its pairs."""
    now = connector.server_time or datetime.now(timezone.utc)
    if now - since > DELETED_HORIZON:
        raise CursorExpired(ErrorKind.NOT_FOUND,
                            "the Salesforce change cursor is older than the 15 days getDeleted reaches back",
                            fix="a full listing with an id diff runs instead (list_changes(None))")


def change_cursor_since(cursor: str) -> datetime | None:
    """Where an incremental cursor's change window starts (a contact or event store's: both keep
    it as ``since``); None for a cursor inside a full listing (or one that is not ours): such a
    user is listed on their own."""
    try:
        state = decode_change_cursor(cursor)
    except ConnectorError:
        return None
    if state.get("phase") != "since" or state.get("locator"):
        return None
    return datetime.fromisoformat(str(state["since"]))


def contact_filter_condition(filters: Sequence[Mapping[str, Any]]) -> str:
    """A data set's filters as one SOQL condition ("" when there are none)."""
    return " AND ".join(f"({soql_filter(f['field'], f['operator'], f.get('value'))})" for f in filters)


@dataclass(frozen=True)
class ChangeFeed:
    """The org's changes of one sObject (Contact, Event) since ``since`` under one data-set filter,
    read once per cycle for every user of that filter (``SalesforceConnector.change_feeds``).

    ``changed`` are the flattened records (every owner) carrying ``fields``; ``left_data_set`` the
    ids that changed but no longer match the filter; ``deleted`` getDeleted's org-wide ids;
    ``next_since`` where every user's next change window starts (the server's time before the
    queries, less the overlap)."""

    since: datetime
    next_since: str
    fields: frozenset[str]
    filter_condition: str
    changed: tuple[Mapping[str, Any], ...]
    left_data_set: frozenset[str]
    deleted: tuple[str, ...]

    def serves(self, filter_condition: str, since: datetime, fields: Sequence[str]) -> bool:
        """This feed answers for a store of this data-set filter whose cursor starts at ``since``
        and that reads ``fields``: its window then contains the store's, and its records carry
        every field the store reads."""
        return self.filter_condition == filter_condition and self.since <= since and self.fields.issuperset(fields)

    def share(self, in_scope: Callable[[Mapping[str, Any]], bool],
              since: datetime) -> tuple[list[Mapping[str, Any]], list[str]]:
        """One store's share of the feed: the rows ``in_scope`` of the store changed after its
        cursor's ``since``, and its departures (the rows out of its scope plus what left the
        filter; the sync core acts only on those it holds a pair for, like the per-user
        departures query's answer)."""
        rows: list[Mapping[str, Any]] = []
        departed = set(self.left_data_set)
        for row in self.changed:
            if not in_scope(row):
                departed.add(row["Id"])
                continue
            stamp = parse_stamp(row.get("SystemModstamp"))
            if stamp is None or stamp > since:
                rows.append(row)
        return rows, sorted(departed)


class SalesforceContactStore(RecordStore):
    """The Contacts of one user's data set: the user's own (``scope='owned'``) or all the
    integration user can see (``'all'``), with the configuration's filters AND-ed on.

    The version token is SystemModstamp. Cursors (opaque to callers) carry the change window's
    start; a full listing pages with the query locator inside the cursor. Every read (listings and
    ``fetch``) stays inside the data set; creates are owned by the user (``OwnerId``).
    """

    side = Side.SALESFORCE

    def __init__(self, connector: SalesforceConnector, owner_id: str, scope: str,
                 filters: Sequence[Mapping[str, Any]], fields: Sequence[str],
                 feed: ChangeFeed | None = None) -> None:
        self.connector = connector
        self.owner_id = owner_id
        self.owned = scope == "owned"
        self.fields = list(dict.fromkeys([*_SYSTEM_FIELDS, *(soql_field(f) for f in fields)]))
        self.filter_condition = contact_filter_condition(filters)
        conditions = [f"(OwnerId = {soql_literal(owner_id)})"] if self.owned else []
        conditions += [self.filter_condition] if self.filter_condition else []
        self.scope_condition = " AND ".join(conditions)
        self.feed = feed

    @property
    def max_batch(self) -> int:
        return COLLECTION_SIZE

    def _select(self, where: str, order: str = "Id") -> str:
        return f"SELECT {', '.join(self.fields)} FROM Contact WHERE {where} ORDER BY {order}"

    def _record(self, flat: Mapping[str, Any]) -> SourceRecord:
        # A null relationship comes back as {"Account": null}: its requested fields are then None.
        fields = {name: flat.get(name) for name in self.fields if name not in _NOT_RECORD_FIELDS}
        return SourceRecord(id=flat["Id"], version=flat["SystemModstamp"], fields=fields,
                            modified_at=parse_stamp(flat.get("LastModifiedDate")))

    def list_changes(self, cursor: str | None) -> ChangePage:
        state = decode_change_cursor(cursor) if cursor else {"v": 1, "phase": "full"}
        if state["phase"] == "full":
            return self._list_full(state)
        return self._list_since(state)

    def _list_full(self, state: dict[str, Any]) -> ChangePage:
        where = self.scope_condition or "Id != null"
        page = self.connector.query_page(self._select(where), "listing contacts", state.get("locator"))
        started = next_window_start(self.connector, state)
        records = [self._record(flatten_record(r)) for r in page.get("records", [])]
        if not page.get("done", True) and page.get("nextRecordsUrl"):
            next_state = {"v": 1, "phase": "full", "locator": page["nextRecordsUrl"], "started": started}
            return ChangePage(records, [], encode_cursor(next_state), complete=False)
        return ChangePage(records, [], encode_cursor({"v": 1, "phase": "since", "since": started}), complete=True)

    def _list_since(self, state: dict[str, Any]) -> ChangePage:
        since = datetime.fromisoformat(str(state["since"]))
        if state.get("locator") is None:
            # The first page of a window also collects deletes and departures, once.
            require_deletes_reach(self.connector, since)
            if self.feed is not None and self.feed.serves(self.filter_condition, since, self.fields):
                return self._list_from_feed(since)
            deleted = self.connector.deleted_ids("Contact", since)
            departed = self._departed_since(since)
        else:
            deleted, departed = [], []
        stamp = soql_literal(since)
        where = f"SystemModstamp > {stamp}" + (f" AND {self.scope_condition}" if self.scope_condition else "")
        started = next_window_start(self.connector, state)
        page = self.connector.query_page(self._select(where, "SystemModstamp, Id"), "listing changed contacts",
                                         state.get("locator"))
        records = [self._record(flatten_record(r)) for r in page.get("records", [])]
        if not page.get("done", True) and page.get("nextRecordsUrl"):
            next_state = {"v": 1, "phase": "since", "since": state["since"], "locator": page["nextRecordsUrl"],
                          "started": started}
            return ChangePage(records, deleted, encode_cursor(next_state), complete=False, departed_ids=departed)
        return ChangePage(records, deleted, encode_cursor({"v": 1, "phase": "since", "since": started}),
                          complete=True, departed_ids=departed)

    def _list_from_feed(self, since: datetime) -> ChangePage:
        """This user's share of the org feed, with no call of its own: the feed's records this
        user owns (scope ``owned``) changed inside this cursor's window are the changes; the rest
        of the feed, and what left the filter, are departures (``ChangeFeed.share``)."""
        feed = self.feed
        assert feed is not None
        rows, departed = feed.share(lambda flat: not self.owned or flat.get("OwnerId") == self.owner_id, since)
        return ChangePage([self._record(flat) for flat in rows], list(feed.deleted),
                          encode_cursor({"v": 1, "phase": "since", "since": feed.next_since}),
                          complete=True, departed_ids=departed)

    def _departed_since(self, since: datetime) -> list[str]:
        """Contacts changed in the window that no longer match the data set (owner or filter)."""
        if not self.scope_condition:
            return []
        soql = f"SELECT Id FROM Contact WHERE SystemModstamp > {soql_literal(since)} AND NOT ({self.scope_condition})"
        return [r["Id"] for r in self.connector.query_all(soql, "listing contacts that left the data set")]

    def fetch(self, ids: Sequence[str]) -> list[SourceRecord]:
        """The named contacts that are in the data set (owner and filters): a contact someone else
        owns now, or that a filter no longer matches, is not this user's to sync."""
        records: list[SourceRecord] = []
        for chunk in chunks(list(dict.fromkeys(ids)), IN_LIST_SIZE):
            where = f"Id IN ({', '.join(soql_literal(i) for i in chunk)})"
            if self.scope_condition:
                where += f" AND {self.scope_condition}"
            records.extend(self._record(r) for r in self.connector.query_all(self._select(where), "fetching contacts"))
        return records

    def look_up(self, ids: Sequence[str]) -> LookedUp:
        """``fetch``, plus one query for the ids it did not return (none when all were found): the
        live ones left the data set, the rest were deleted."""
        unique = list(dict.fromkeys(ids))
        records = self.fetch(unique)
        found = {record.id for record in records}
        absent = [record_id for record_id in unique if record_id not in found]
        alive: set[str] = set()
        for chunk in chunks(absent, IN_LIST_SIZE):
            soql = f"SELECT Id FROM Contact WHERE Id IN ({', '.join(soql_literal(i) for i in chunk)})"
            alive.update(r["Id"] for r in self.connector.query_all(soql, "looking up contacts outside the data set"))
        return LookedUp(records, departed_ids=[i for i in absent if i in alive],
                        missing_ids=[i for i in absent if i not in alive])

    # -- writes ------------------------------------------------------------------------------------

    def _writable(self, fields: Mapping[str, Any], accounts: Mapping[str, str | None]) -> dict[str, Any]:
        """Fields as the REST API takes them: ``Account.Name`` becomes ``AccountId`` when exactly
        one Account has that name (else the account link is left alone)."""
        body: dict[str, Any] = {}
        for name, value in fields.items():
            if name == "Account.Name":
                if value and accounts.get(str(value)):
                    body["AccountId"] = accounts[str(value)]
                continue
            if "." in name:
                raise ConnectorError(ErrorKind.INVALID_REQUEST, f"cannot write the relationship field {name}",
                                     fix="map the Id field of the relationship instead")
            body[soql_field(name)] = value
        return body

    def write(self, batch: Sequence[WriteOp]) -> list[WriteResult]:
        """Creates, updates and deletes through sObject collections (one call per kind present),
        after one query that re-reads the SystemModstamp of every record to update or delete:
        collections take no precondition, so a record that moved is answered ``conflict`` here."""
        if len(batch) > COLLECTION_SIZE:
            raise ValueError(f"a Salesforce write batch holds at most {COLLECTION_SIZE} ops, got {len(batch)}")
        results: list[WriteResult | None] = [None] * len(batch)
        guarded = [op.record_id for op in batch if isinstance(op, (UpdateOp, DeleteOp))]
        current = self.connector.versions("Contact", guarded) if guarded else {}
        names = sorted({str(op.fields["Account.Name"]) for op in batch
                        if isinstance(op, (CreateOp, UpdateOp)) and op.fields.get("Account.Name")})
        accounts = self.connector.accounts_by_name(names) if names else {}

        creates: list[tuple[int, dict[str, Any]]] = []
        updates: list[tuple[int, dict[str, Any]]] = []
        deletes: list[tuple[int, str]] = []
        for index, op in enumerate(batch):
            if isinstance(op, (UpdateOp, DeleteOp)):
                if op.record_id not in current:
                    results[index] = WriteResult.not_found()
                    continue
                if current[op.record_id] != op.expected_version:
                    results[index] = WriteResult.conflict("the contact changed in Salesforce since the plan was made")
                    continue
            try:
                if isinstance(op, CreateOp):
                    # A contact created from the user's mailbox belongs to the user: created as the
                    # integration user it would leave an "owned" data set at once.
                    creates.append((index, {"attributes": {"type": "Contact"}, **self._writable(op.fields, accounts),
                                            "OwnerId": self.owner_id}))
                elif isinstance(op, UpdateOp):
                    updates.append((index, {"attributes": {"type": "Contact"}, "Id": op.record_id,
                                            **self._writable(op.fields, accounts)}))
                else:
                    deletes.append((index, op.record_id))
            except ConnectorError as error:
                results[index] = WriteResult.failed(error.message, retryable=False)

        self.connector.write_collections("Contact", creates, updates, deletes, results)
        if creates or updates:
            # Collections answer ids only: read the new SystemModstamps in one query.
            fill_versions(results, self.connector.versions("Contact", written_ids(results)))
        return [r if r is not None else WriteResult.failed("no result from Salesforce", retryable=True)
                for r in results]
