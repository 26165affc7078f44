"""The Salesforce emulator: OAuth + SOAP login, REST query and sObject APIs over the sandbox port.

Operation names (for counters and fault rules)::

    token               POST /services/oauth2/token (password, client_credentials, JWT bearer)
    soap_login          POST /services/Soap/u/XX.X (partner login)
    versions            GET  /services/data/
    limits              GET  .../limits
    query / query_all   GET  .../query?q= , .../queryAll?q=
    query_more          GET  .../query/<locator>-<offset> (next page of either)
    describe_global     GET  .../sobjects
    describe            GET  .../sobjects/<Type> and .../sobjects/<Type>/describe
    sobject_create      POST .../sobjects/<Type>
    sobject_get / sobject_update / sobject_delete   GET / PATCH / DELETE .../sobjects/<Type>/<id>
    updated / deleted   GET  .../sobjects/<Type>/updated?start=&end= , .../deleted?start=&end=
    composite_create / composite_update / composite_delete   POST / PATCH / DELETE .../composite/sobjects
    composite_retrieve  GET  .../composite/sobjects/<Type>?ids=&fields=
    not_found           anything else under /services/

Every REST call (not token, soap_login or versions) needs a session and counts against
DailyApiRequests; a ``request_limit`` fault answers 403 REQUEST_LIMIT_EXCEEDED and a
``record_failure`` fault fails one record of a composite batch with UNABLE_TO_LOCK_ROW.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import secrets
import time
import xml.etree.ElementTree as ElementTree
from collections import OrderedDict, deque
from dataclasses import dataclass
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

from werkzeug.wrappers import Request, Response

from ..service import Service
from .auth import (Credentials, OAuthError, Sessions, client_from_basic, response_signature,
                   verify_assertion)
from .query import CompiledQuery, QueryRunner
from .seed import seed_store
from .soql import SoqlError, parse
from .schema import ObjectDef
from .store import (Record, SalesforceError, Store, Write, normalize_id, parse_datetime, render_datetime,
                    render_ms)

API_VERSION = "61.0"
MIN_VERSION, MAX_VERSION = 40.0, 65.0
DEFAULT_BATCH_SIZE, MIN_BATCH_SIZE = 2000, 200
COLLECTION_LIMIT, RETRIEVE_LIMIT = 200, 2000
DEFAULT_DAILY_API_REQUESTS = 100_000
OPEN_CURSORS = 100           # query locators kept; the oldest are forgotten first
UPDATED_DAYS, DELETED_DAYS = 30, 15  # how far back getUpdated / getDeleted reach
_DAY_MS = 24 * 3600 * 1000


class _SalesforceResponse(Response):
    """A response that knows how many records it carried, for the request log."""

    records = 0


def _json(body: Any, status: int = 200, records: int = 0) -> Response:
    response = _SalesforceResponse(json.dumps(body), status=status,
                                   content_type="application/json;charset=UTF-8")
    response.records = records
    return response


def _errors(error: SalesforceError | SoqlError) -> Response:
    if isinstance(error, SoqlError):
        return _json([{"message": error.message, "errorCode": error.code}], 400)
    return _json([error.as_rest()], error.status)


@dataclass
class _Route:
    operation: str
    version: str = API_VERSION
    sobject: str = ""
    record_id: str = ""
    locator: str = ""


@dataclass
class _Cursor:
    """The ids of one query's result, kept under its locator so later pages never re-run it."""

    compiled: CompiledQuery
    ids: list[str]
    batch_size: int
    endpoint: str


def route(method: str, path: str) -> _Route:
    """Map a request to its operation without looking at credentials or data."""
    if path.rstrip("/") == "/services/oauth2/token":
        return _Route("token" if method == "POST" else "not_found")
    parts = [p for p in path.split("/") if p]
    if parts[:3] == ["services", "Soap", "u"] and len(parts) >= 4 and method == "POST":
        return _Route("soap_login", version=parts[3])
    if parts[:2] != ["services", "data"]:
        return _Route("not_found")
    if len(parts) == 2:
        return _Route("versions" if method == "GET" else "not_found")
    version = parts[2][1:] if parts[2].startswith("v") else ""
    try:
        known = MIN_VERSION <= float(version) <= MAX_VERSION
    except ValueError:
        known = False
    if not known:
        return _Route("not_found")
    rest = parts[3:]
    get = method == "GET"
    if rest == ["limits"] and get:
        return _Route("limits", version)
    if rest and rest[0] in ("query", "queryAll") and get:
        if len(rest) == 1:
            return _Route("query" if rest[0] == "query" else "query_all", version)
        if len(rest) == 2:
            return _Route("query_more", version, locator=rest[1])
    if rest == ["sobjects"] and get:
        return _Route("describe_global", version)
    if len(rest) >= 2 and rest[0] == "sobjects":
        sobject = rest[1]
        if len(rest) == 2:
            operation = {"GET": "describe", "POST": "sobject_create"}.get(method, "not_found")
            return _Route(operation, version, sobject)
        if len(rest) == 3 and get and rest[2] in ("describe", "updated", "deleted"):
            return _Route(rest[2], version, sobject)
        if len(rest) == 3:
            operation = {"GET": "sobject_get", "PATCH": "sobject_update",
                         "DELETE": "sobject_delete"}.get(method, "not_found")
            return _Route(operation, version, sobject, record_id=rest[2])
    if rest[:2] == ["composite", "sobjects"]:
        if len(rest) == 2:
            operation = {"POST": "composite_create", "PATCH": "composite_update",
                         "DELETE": "composite_delete"}.get(method, "not_found")
            return _Route(operation, version)
        if len(rest) == 3 and get:
            return _Route("composite_retrieve", version, rest[2])
    return _Route("not_found", version)


class SalesforceService(Service):
    """The emulated org, hosted by the sandbox under ``/services/``."""

    name = "salesforce"

    def __init__(self) -> None:
        super().__init__()
        self.store = Store()
        self.queries = QueryRunner(self.store)
        self.credentials: Credentials | None = None  # made by seed(), loaded by restore()
        self.sessions = Sessions()
        self.integration_user_id = ""
        self.daily_api_requests = DEFAULT_DAILY_API_REQUESTS
        self._api_calls: deque[int] = deque()  # epoch ms of REST calls in the last 24 hours
        self._cursors: OrderedDict[str, _Cursor] = OrderedDict()

    # -- Service contract ------------------------------------------------------------------------

    def claims(self, path: str) -> bool:
        return path.startswith("/services/")

    def operation(self, request: Request) -> str:
        return route(request.method, request.path).operation

    def seed(self, data: dict[str, Any]) -> None:
        self._reset(Store(), Credentials.generate())
        self.daily_api_requests = int(data.get("daily_api_requests", DEFAULT_DAILY_API_REQUESTS))
        self.integration_user_id = seed_store(self.store, data)
        self.changed()

    def snapshot(self) -> dict[str, Any]:
        return {"format": 1, "store": self.store.snapshot(), "credentials": self._credentials.as_dict(),
                "sessions": self.sessions.snapshot(), "integration_user_id": self.integration_user_id,
                "daily_api_requests": self.daily_api_requests}

    def restore(self, data: dict[str, Any]) -> None:
        self._reset(Store.from_snapshot(data["store"]), Credentials(**data["credentials"]))
        self.sessions.restore(data["sessions"])
        self.integration_user_id = data["integration_user_id"]
        self.daily_api_requests = int(data["daily_api_requests"])

    def _reset(self, store: Store, credentials: Credentials) -> None:
        self.store = store
        self.queries = QueryRunner(store)
        self.credentials = credentials
        self.sessions = Sessions()
        self._cursors.clear()
        self._api_calls.clear()

    def endpoints(self) -> dict[str, Any]:
        base = self._base_url
        user = self.store.get(self.integration_user_id)
        return {
            "instanceUrl": base, "tokenUrl": base + "/services/oauth2/token", "loginUrl": base,
            "apiVersion": API_VERSION,
            "credentials": {
                "clientId": self._credentials.client_id, "clientSecret": self._credentials.client_secret,
                "username": user["Username"] if user else "", "password": self._credentials.password,
                "securityToken": self._credentials.security_token,
                "jwtPrivateKey": self._credentials.jwt_private_key,
                "jwtCertificate": self._credentials.jwt_certificate,
            },
        }

    def records_in(self, request: Request, response: Response) -> int:
        return getattr(response, "records", 0)

    def revoke_sessions(self) -> None:
        """Invalidate every access token, as a password change or session timeout would."""
        with self.lock:
            self.sessions.revoke_all()
            self.changed()

    @property
    def _credentials(self) -> Credentials:
        assert self.credentials is not None, "the store is neither seeded nor restored"
        return self.credentials

    @property
    def _base_url(self) -> str:
        assert self.context is not None, "the service is not attached to a sandbox"
        return self.context.base_url

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, request: Request, operation: str) -> Response:
        target = route(request.method, request.path)
        if operation == "token":
            return self._token(request)
        if operation == "soap_login":
            return self._soap_login(request, target.version)
        if operation == "versions":
            return _json([{"label": f"v{v}", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
                          for v in range(int(MIN_VERSION), int(MAX_VERSION) + 1)])
        try:
            user_id = self._authenticate(request)
            self._count_api_call(operation)
            if operation == "not_found":
                raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
            response = getattr(self, f"_op_{operation}")(request, target, user_id)
        except (SalesforceError, SoqlError) as error:
            response = _errors(error)
        response.headers["Sforce-Limit-Info"] = f"api-usage={len(self._api_calls)}/{self.daily_api_requests}"
        return response

    def _authenticate(self, request: Request) -> str:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        user_id = self.sessions.user_for(token.strip()) if scheme.lower() in ("bearer", "oauth") else None
        user = self.store.get(user_id) if user_id else None
        if user is None or not user["IsActive"]:
            raise SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
        return user["Id"]

    def _count_api_call(self, operation: str) -> None:
        now = int(time.time() * 1000)
        while self._api_calls and self._api_calls[0] <= now - _DAY_MS:
            self._api_calls.popleft()
        limited = len(self._api_calls) >= self.daily_api_requests
        self._api_calls.append(now)
        assert self.context is not None
        if limited or self.context.faults.draw(self.name, operation, {"request_limit"}) is not None:
            raise SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403)

    # -- logins ----------------------------------------------------------------------------------

    def _token(self, request: Request) -> Response:
        form = request.form
        grant = form.get("grant_type", "")
        try:
            if grant == "password":
                self._check_client(form.get("client_id"), form.get("client_secret"))
                user = self.store.find_user(form.get("username", ""))
                expected = self._credentials.password + self._credentials.security_token
                if (user is None or user["Id"] != self.integration_user_id or not user["IsActive"]
                        or not secrets.compare_digest(form.get("password", ""), expected)):
                    raise OAuthError("invalid_grant", "authentication failure")
            elif grant == "client_credentials":
                client = client_from_basic(request.headers.get("Authorization"))
                client_id, secret = client if client else (form.get("client_id"), form.get("client_secret"))
                self._check_client(client_id, secret)
                user = self.store.get(self.integration_user_id)
            elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
                claims = verify_assertion(form.get("assertion", ""), self.credentials, self._base_url)
                user = self.store.find_user(str(claims["sub"]))
                if user is None or not user["IsActive"]:
                    raise OAuthError("invalid_grant", "authentication failure")
            else:
                raise OAuthError("unsupported_grant_type", "grant type not supported")
        except OAuthError as error:
            return _json({"error": error.error, "error_description": error.description}, 400)
        assert user is not None
        token, session = self.sessions.issue(self._credentials.org_id, user["Id"])
        self.changed()
        identity = f"{self._base_url}/id/{self._credentials.org_id}/{user['Id']}"
        issued_at = str(session.issued_ms)
        return _json({"access_token": token, "instance_url": self._base_url, "id": identity,
                      "token_type": "Bearer", "issued_at": issued_at, "scope": "api",
                      "signature": response_signature(self._credentials.client_secret, identity, issued_at)})

    def _check_client(self, client_id: str | None, secret: str | None) -> None:
        if not client_id or not secrets.compare_digest(client_id, self._credentials.client_id):
            raise OAuthError("invalid_client_id", "client identifier invalid")
        if not secret or not secrets.compare_digest(secret, self._credentials.client_secret):
            raise OAuthError("invalid_client", "invalid client credentials")

    def _soap_login(self, request: Request, version: str) -> Response:
        """The partner WSDL ``login`` call: username plus password with the security token appended."""
        try:
            root = ElementTree.fromstring(request.get_data())
        except ElementTree.ParseError:
            return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        found = {element.tag.rsplit("}", 1)[-1]: (element.text or "") for element in root.iter()}
        user = self.store.find_user(found.get("username", ""))
        expected = self._credentials.password + self._credentials.security_token
        if (user is None or user["Id"] != self.integration_user_id or not user["IsActive"]
                or not secrets.compare_digest(found.get("password", ""), expected)):
            return _soap_fault("INVALID_LOGIN", "Invalid username, password, security token; or user locked out.")
        token, _ = self.sessions.issue(self._credentials.org_id, user["Id"])
        self.changed()
        org15 = self._credentials.org_id[:15]
        server = f"{self._base_url}/services/Soap/u/{version}/{org15}"
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            '<soapenv:Body><loginResponse><result>'
            f'<metadataServerUrl>{escape(self._base_url)}/services/Soap/m/{version}/{org15}</metadataServerUrl>'
            '<passwordExpired>false</passwordExpired><sandbox>true</sandbox>'
            f'<serverUrl>{escape(server)}</serverUrl><sessionId>{escape(token)}</sessionId>'
            f'<userId>{user["Id"]}</userId><userInfo><organizationId>{self._credentials.org_id}'
            f'</organizationId><userEmail>{escape(user["Email"])}</userEmail>'
            f'<userFullName>{escape(user.get("Name", ""))}</userFullName><userId>{user["Id"]}</userId>'
            f'<userName>{escape(user["Username"])}</userName></userInfo>'
            '</result></loginResponse></soapenv:Body></soapenv:Envelope>')
        return Response(body, status=200, content_type="text/xml;charset=UTF-8")

    # -- REST: org -------------------------------------------------------------------------------

    def _op_limits(self, request: Request, target: _Route, user_id: str) -> Response:
        remaining = max(0, self.daily_api_requests - len(self._api_calls))
        return _json({"DailyApiRequests": {"Max": self.daily_api_requests, "Remaining": remaining}})

    def _op_describe_global(self, request: Request, target: _Route, user_id: str) -> Response:
        return _json({"encoding": "UTF-8", "maxBatchSize": COLLECTION_LIMIT, "sobjects": [
            {"name": o.name, "label": o.name, "keyPrefix": o.key_prefix, "custom": False,
             "createable": o.createable, "updateable": o.updateable, "deletable": o.deletable,
             "queryable": True, "urls": {"sobject": f"/services/data/v{target.version}/sobjects/{o.name}"}}
            for o in self.store.schema.values()]})

    def _op_describe(self, request: Request, target: _Route, user_id: str) -> Response:
        obj = self._object(target.sobject)
        fields = [{
            "name": f.name, "label": f.name, "type": f.type, "length": f.length,
            "nillable": f.nillable, "createable": f.createable, "updateable": f.updateable,
            "custom": f.custom, "referenceTo": list(f.reference_to), "relationshipName": f.relationship_name,
            "defaultedOnCreate": f.default is not None,
            "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": v == f.default}
                               for v in f.picklist],
        } for f in obj.fields.values()]
        return _json({"name": obj.name, "label": obj.name, "keyPrefix": obj.key_prefix, "custom": False,
                      "createable": obj.createable, "updateable": obj.updateable,
                      "deletable": obj.deletable, "queryable": True, "fields": fields})

    # -- REST: queries ---------------------------------------------------------------------------

    def _op_query(self, request: Request, target: _Route, user_id: str) -> Response:
        return self._run_query(request, target, include_deleted=False)

    def _op_query_all(self, request: Request, target: _Route, user_id: str) -> Response:
        return self._run_query(request, target, include_deleted=True)

    def _run_query(self, request: Request, target: _Route, include_deleted: bool) -> Response:
        text = request.args.get("q", "").strip()
        if not text:
            raise SoqlError("MALFORMED_QUERY", "A query string has to be specified")
        compiled = self.queries.compile(parse(text))
        ids = self.queries.run(compiled, include_deleted)
        if compiled.count is not None:
            if compiled.count.field is None:
                return _json({"totalSize": len(ids), "done": True, "records": []})
            return _json({"totalSize": 1, "done": True, "records": [
                {"attributes": {"type": "AggregateResult"}, "expr0": len(ids)}]}, records=1)
        cursor = _Cursor(compiled, ids, _batch_size(request), "queryAll" if include_deleted else "query")
        return self._page(cursor, "", 0, target.version)

    def _op_query_more(self, request: Request, target: _Route, user_id: str) -> Response:
        locator, _, offset_text = target.locator.rpartition("-")
        cursor = self._cursors.get(locator)
        if cursor is None or not offset_text.isdigit() or int(offset_text) >= len(cursor.ids):
            raise SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator")
        self._cursors.move_to_end(locator)
        return self._page(cursor, locator, int(offset_text), target.version)

    def _page(self, cursor: _Cursor, locator: str, offset: int, version: str) -> Response:
        end = offset + cursor.batch_size
        page = cursor.ids[offset:end]
        body: dict[str, Any] = {"totalSize": len(cursor.ids), "done": end >= len(cursor.ids),
                                "records": [self.queries.render(cursor.compiled, self.store.get(i) or {}, version)
                                            for i in page]}
        if body["done"]:
            self._cursors.pop(locator, None)
        else:
            if not locator:
                locator = "01g" + secrets.token_hex(8)
                self._cursors[locator] = cursor
                while len(self._cursors) > OPEN_CURSORS:
                    self._cursors.popitem(last=False)
            body["nextRecordsUrl"] = f"/services/data/v{version}/{cursor.endpoint}/{locator}-{end}"
        return _json(body, records=len(page))

    # -- REST: single records --------------------------------------------------------------------

    def _object(self, name: str) -> ObjectDef:
        obj = self.store.object(name)
        if obj is None:
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        return obj

    def _body(self, request: Request) -> Any:
        try:
            return json.loads(request.get_data() or b"null")
        except ValueError as exc:
            raise SalesforceError("JSON_PARSER_ERROR", f"Unexpected character in the request body: {exc}") from None

    def _record_body(self, request: Request) -> dict[str, Any]:
        body = self._body(request)
        if not isinstance(body, dict):
            raise SalesforceError("JSON_PARSER_ERROR", "Cannot deserialize the request body as an sObject")
        return body

    def _op_sobject_create(self, request: Request, target: _Route, user_id: str) -> Response:
        write = self.store.prepare_create(target.sobject, self._record_body(request), user_id)
        record_id = self._commit(write, user_id)
        return _json({"id": record_id, "success": True, "errors": []}, 201, records=1)

    def _op_sobject_get(self, request: Request, target: _Route, user_id: str) -> Response:
        obj = self._object(target.sobject)
        record_id = normalize_id(target.record_id)
        record = self.store.get(record_id) if record_id else None
        if record is None or record["IsDeleted"] or self.store.object_of_id(record["Id"]) is not obj:
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        return _json(self._render_fields(obj, record, request.args.get("fields"), target.version), records=1)

    def _op_sobject_update(self, request: Request, target: _Route, user_id: str) -> Response:
        body = self._record_body(request)
        write = self.store.prepare_update(target.sobject, target.record_id, body)
        self._check_unmodified_since(request, write)
        self._commit(write, user_id)
        return Response(status=204)

    def _op_sobject_delete(self, request: Request, target: _Route, user_id: str) -> Response:
        self._commit(self.store.prepare_delete(target.sobject, target.record_id), user_id)
        return Response(status=204)

    def _check_unmodified_since(self, request: Request, write: Write) -> None:
        header = request.headers.get("If-Unmodified-Since")
        if not header:
            return
        try:
            since = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            # Educated guess at the code: the header is an HTTP date or the request is refused.
            raise SalesforceError("INVALID_HEADER_TYPE", f"If-Unmodified-Since is not an HTTP date: {header}")
        if since.tzinfo is None:
            since = since.replace(tzinfo=dt.timezone.utc)
        current = self.store.get(write.record_id)
        assert current is not None
        # HTTP dates have whole seconds: compare the record's LastModifiedDate at that precision,
        # or a client echoing the date it read would always fail.
        modified = parse_datetime(current["LastModifiedDate"]).replace(microsecond=0)
        if modified > since:
            raise SalesforceError("PRECONDITION_FAILED",
                                  f"The requested resource has been modified since {header} "
                                  f"(LastModifiedDate {current['LastModifiedDate']})", status=412)

    def _commit(self, write: Write, user_id: str) -> str:
        record_id = self.store.commit(write, user_id)
        self.changed()
        return record_id

    def _render_fields(self, obj: ObjectDef, record: Record, fields: str | None, version: str) -> dict[str, Any]:
        if fields:
            wanted = []
            for name in (n.strip() for n in fields.split(",") if n.strip()):
                definition = obj.field(name)
                if definition is None:
                    raise SalesforceError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
                wanted.append(definition)
        else:
            wanted = list(obj.fields.values())
        out: dict[str, Any] = {"attributes": {"type": obj.name,
                                              "url": f"/services/data/v{version}/sobjects/{obj.name}/{record['Id']}"}}
        for definition in wanted:
            out[definition.name] = record.get(definition.name)
        return out

    # -- REST: replication -----------------------------------------------------------------------

    def _window(self, request: Request, reach_days: int) -> tuple[str, str]:
        """The [start, latestDateCovered] window of getUpdated / getDeleted, as stored timestamps."""
        try:
            start = parse_datetime(request.args["start"])
            end = parse_datetime(request.args["end"])
        except (KeyError, ValueError):
            raise SalesforceError("INVALID_REPLICATION_DATE", "start and end must be ISO 8601 date-times") from None
        now = dt.datetime.fromtimestamp(self.store.clock.now_ms() / 1000, dt.timezone.utc)
        if start >= end:
            raise SalesforceError("INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
        if start < now - dt.timedelta(days=reach_days):
            raise SalesforceError("INVALID_REPLICATION_DATE",
                                  f"startDate cannot be more than {reach_days} days ago")
        # Salesforce works in whole minutes: the start is rounded down. The real service also rounds
        # latestDateCovered down to the minute; the sandbox covers up to "now" so tests need not wait.
        start = start.replace(second=0, microsecond=0)
        return render_datetime(start), render_datetime(min(end, now))

    def _op_updated(self, request: Request, target: _Route, user_id: str) -> Response:
        obj = self._object(target.sobject)
        low, high = self._window(request, UPDATED_DAYS)
        ids = [r["Id"] for r in self._modified_between(obj, low, high) if not r["IsDeleted"]]
        return _json({"ids": ids, "latestDateCovered": high}, records=len(ids))

    def _op_deleted(self, request: Request, target: _Route, user_id: str) -> Response:
        obj = self._object(target.sobject)
        low, high = self._window(request, DELETED_DAYS)
        deleted = [{"id": r["Id"], "deletedDate": r["SystemModstamp"]}
                   for r in self._modified_between(obj, low, high) if r["IsDeleted"]]
        # Salesforce reports when it last purged deleted records; the sandbox never purges, so the
        # answer is the moment the org began (its seed), or the reach of getDeleted if that is later.
        reach = self.store.clock.now_ms() - DELETED_DAYS * _DAY_MS
        earliest = render_ms(max(self.store.created_ms, reach))
        return _json({"deletedRecords": deleted, "earliestDateAvailable": earliest,
                      "latestDateCovered": high}, records=len(deleted))

    def _modified_between(self, obj: ObjectDef, low: str, high: str) -> list[Record]:
        """Records with low <= SystemModstamp <= high, walking the modstamp-ordered table backwards."""
        found = []
        table = self.store.tables[obj.name.lower()]
        for record_id in reversed(table):
            record = table[record_id]
            if record["SystemModstamp"] < low:
                break
            if record["SystemModstamp"] <= high:
                found.append(record)
        found.reverse()
        return found

    # -- REST: collections -----------------------------------------------------------------------

    def _op_composite_create(self, request: Request, target: _Route, user_id: str) -> Response:
        return self._collection_write(request, "composite_create", user_id)

    def _op_composite_update(self, request: Request, target: _Route, user_id: str) -> Response:
        return self._collection_write(request, "composite_update", user_id)

    def _collection_write(self, request: Request, operation: str, user_id: str) -> Response:
        body = self._record_body(request)
        records = body.get("records")
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise SalesforceError("JSON_PARSER_ERROR", "records must be a list of sObjects")
        _check_collection_size(len(records), COLLECTION_LIMIT)
        all_or_none = body.get("allOrNone") is True

        def prepare(record: dict[str, Any]) -> Write:
            object_name = (record.get("attributes") or {}).get("type")
            if not object_name:
                raise SalesforceError("INVALID_TYPE", "Must send a concrete entity type.")
            if operation == "composite_create":
                if "id" in record or "Id" in record:
                    raise SalesforceError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                          "cannot specify Id in an insert call", ["Id"])
                return self.store.prepare_create(object_name, record, user_id)
            record_id = record.get("id") or record.get("Id")
            if not isinstance(record_id, str):
                raise SalesforceError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            fields = {k: v for k, v in record.items() if k not in ("id", "Id")}
            return self.store.prepare_update(object_name, record_id, fields)

        keys = [r.get("id") or r.get("Id") if operation == "composite_update" else None for r in records]
        return self._collection(records, keys, prepare, operation, user_id, all_or_none)

    def _op_composite_delete(self, request: Request, target: _Route, user_id: str) -> Response:
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        if not ids:
            raise SalesforceError("MISSING_ARGUMENT", "ids is required")
        _check_collection_size(len(ids), COLLECTION_LIMIT)
        all_or_none = request.args.get("allOrNone", "false").lower() == "true"
        return self._collection(ids, ids, lambda i: self.store.prepare_delete(None, i), "composite_delete",
                                user_id, all_or_none)

    def _collection(self, items: list[Any], keys: list[Any], prepare: Callable[[Any], Write], operation: str,
                    user_id: str, all_or_none: bool) -> Response:
        """Prepare every item (a ``record_failure`` fault fails one as a locked row would); commit each
        good one, or with ``allOrNone`` nothing at all when any failed."""
        assert self.context is not None
        outcomes: list[Write | SalesforceError] = []
        for item, key in zip(items, keys):
            try:
                if self.context.faults.draw(self.name, operation, {"record_failure"}) is not None:
                    raise SalesforceError("UNABLE_TO_LOCK_ROW",
                                          f"unable to obtain exclusive access to this record or 1 records: "
                                          f"{key or 'new record'}")
                outcomes.append(prepare(item))
            except SalesforceError as error:
                outcomes.append(error)
        failed = any(isinstance(o, SalesforceError) for o in outcomes)
        results: list[dict[str, Any]] = []
        for outcome, key in zip(outcomes, keys):
            if isinstance(outcome, SalesforceError):
                result: dict[str, Any] = {"success": False, "errors": [outcome.as_collection()]}
                if isinstance(key, str):
                    result = {"id": key, **result}
                results.append(result)
            elif all_or_none and failed:
                results.append({"id": outcome.record_id if outcome.kind != "create" else None,
                                "success": False, "errors": [{
                                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                    "message": "Record rolled back because not all records were valid and "
                                               "the request was using AllOrNone header", "fields": []}]})
            else:
                results.append({"id": self._commit(outcome, user_id), "success": True, "errors": []})
        return _json(results, records=len(items))

    def _op_composite_retrieve(self, request: Request, target: _Route, user_id: str) -> Response:
        obj = self._object(target.sobject)
        ids = [i for i in request.args.get("ids", "").split(",") if i]
        fields = request.args.get("fields", "")
        if not ids or not fields:
            raise SalesforceError("MISSING_ARGUMENT", "ids and fields are required")
        _check_collection_size(len(ids), RETRIEVE_LIMIT)
        out: list[dict[str, Any] | None] = []
        for raw in ids:
            record_id = normalize_id(raw)
            record = self.store.get(record_id) if record_id else None
            if record is None or record["IsDeleted"] or self.store.object_of_id(record["Id"]) is not obj:
                out.append(None)
            else:
                out.append(self._render_fields(obj, record, fields, target.version))
        return _json(out, records=sum(r is not None for r in out))


def _check_collection_size(count: int, limit: int) -> None:
    if count > limit:
        raise SalesforceError("EXCEEDED_ID_LIMIT", f"Maximum number of records is {limit}")


def _batch_size(request: Request) -> int:
    """``Sforce-Query-Options: batchSize=N``, clamped to 200..2000 as Salesforce does."""
    for option in request.headers.get("Sforce-Query-Options", "").split(","):
        key, _, value = option.partition("=")
        if key.strip().lower() == "batchsize" and value.strip().isdigit():
            return max(MIN_BATCH_SIZE, min(DEFAULT_BATCH_SIZE, int(value)))
    return DEFAULT_BATCH_SIZE


def _soap_fault(code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f'<soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode>'
        f'<faultstring>{code}: {escape(message)}</faultstring><detail>'
        '<sf:LoginFault xsi:type="sf:LoginFault">'
        f'<sf:exceptionCode>{code}</sf:exceptionCode><sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>'
        '</sf:LoginFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>')
    return Response(body, status=500, content_type="text/xml;charset=UTF-8")
