"""The typed configuration model: frozen dataclasses built from validated, normalised documents.

Everything downstream (sync, plan, engine) reads these objects rather than dicts, so a field
renamed in the schema breaks loudly here and nowhere else. Objects are built only from documents
that passed the schema, with defaults filled in, so no field needs a fallback.

Secret references stay references: :class:`SecretRef` says where a secret lives and nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

Direction = Literal["salesforce_to_exchange", "exchange_to_salesforce", "both", "none"]
ConflictPolicy = Literal["salesforce_wins", "exchange_wins", "newest_wins"]
DeletePolicy = Literal["propagate", "unlink", "ignore"]

SANDBOX_URL = "sandbox://local"


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives: an environment variable or a file (absolute path). Never its value."""

    env: str | None = None
    file: str | None = None

    def describe(self) -> str:
        """``env SF_PASSWORD`` or ``file /abs/path``: safe for logs, plans and messages."""
        return f"env {self.env}" if self.env is not None else f"file {self.file}"


@dataclass(frozen=True)
class Metadata:
    name: str
    description: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class SalesforceAuth:
    type: Literal["jwt_bearer", "client_credentials", "password"]
    client_id: str
    username: str | None
    private_key: SecretRef | None
    client_secret: SecretRef | None
    password: SecretRef | None
    security_token: SecretRef | None


@dataclass(frozen=True)
class SalesforceConnection:
    instance_url: str
    login_url: str
    api_version: str
    ca_file: str | None  # absolute path
    auth: SalesforceAuth

    @property
    def is_sandbox(self) -> bool:
        return self.instance_url == SANDBOX_URL


@dataclass(frozen=True)
class ExchangeCertificate:
    private_key: SecretRef
    thumbprint: str


@dataclass(frozen=True)
class ExchangeAuth:
    type: Literal["service_account", "oauth_client_credentials"]
    username: str | None
    password: SecretRef | None
    impersonation: bool | None  # service_account only
    tenant_id: str | None
    client_id: str | None
    authority: str | None  # oauth_client_credentials only
    client_secret: SecretRef | None
    certificate: ExchangeCertificate | None


@dataclass(frozen=True)
class ExchangeConnection:
    ews_url: str | None  # None when autodiscover is true
    autodiscover: bool
    domains: tuple[str, ...]
    ca_file: str | None  # absolute path
    auth: ExchangeAuth

    @property
    def is_sandbox(self) -> bool:
        return self.ews_url == SANDBOX_URL

    def serves(self, address: str) -> bool:
        """Whether a mailbox address belongs to one of this connection's domains."""
        return address.rsplit("@", 1)[-1].lower() in self.domains


class _Addressed:
    """What every resource kind shares: a name from its metadata and an address ``Kind/name``."""

    kind: ClassVar[str]
    metadata: Metadata

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def address(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Connection(_Addressed):
    kind: ClassVar[str] = "Connection"
    metadata: Metadata
    salesforce: SalesforceConnection | None
    exchange: ExchangeConnection | None

    @property
    def type(self) -> Literal["salesforce", "exchange"]:
        return "salesforce" if self.salesforce is not None else "exchange"


@dataclass(frozen=True)
class Profile(_Addressed):
    kind: ClassVar[str] = "Profile"
    metadata: Metadata
    salesforce_profiles: tuple[str, ...]
    members: tuple[str, ...]


@dataclass(frozen=True)
class User(_Addressed):
    kind: ClassVar[str] = "User"
    metadata: Metadata
    salesforce_username: str
    mailbox: str | None  # None: the user's Salesforce Email, known at sync time
    enabled: bool
    reset_sync: int


@dataclass(frozen=True)
class FilterRule:
    field: str
    operator: Literal["equals", "not_equals", "in", "not_in", "starts_with", "is_null", "is_not_null"]
    value: str | tuple[str, ...] | None


@dataclass(frozen=True)
class ContactDataSet:
    scope: Literal["owned", "all"]
    filter: tuple[FilterRule, ...]


@dataclass(frozen=True)
class Deletes:
    salesforce_to_exchange: DeletePolicy
    exchange_to_salesforce: DeletePolicy


@dataclass(frozen=True)
class FieldMapping:
    salesforce_field: str
    exchange_field: str
    direction: Direction


@dataclass(frozen=True)
class ContactSettings:
    direction: Direction
    data_set: ContactDataSet
    conflict_policy: ConflictPolicy
    deletes: Deletes
    field_mappings: tuple[FieldMapping, ...]


@dataclass(frozen=True)
class EventDataSet:
    selection: Literal["all", "category"]
    category: str | None
    past_days: int
    future_days: int


@dataclass(frozen=True)
class EventSettings:
    direction: Direction
    data_set: EventDataSet
    private_events: Literal["skip", "sync", "busy_only"]
    attendees: bool
    send_invitations: bool
    send_cancellations: bool
    relate_to_records: bool
    conflict_policy: ConflictPolicy
    deletes: Deletes
    field_mappings: tuple[FieldMapping, ...]


@dataclass(frozen=True)
class Limits:
    records_per_user: int
    max_changes: int
    max_deletes: int


@dataclass(frozen=True)
class Assign:
    users: tuple[str, ...]
    profiles: tuple[str, ...]


@dataclass(frozen=True)
class SyncConfiguration(_Addressed):
    kind: ClassVar[str] = "SyncConfiguration"
    metadata: Metadata
    salesforce_connection: str
    exchange_connection: str
    active: bool
    priority: int
    assign: Assign
    contacts: ContactSettings
    events: EventSettings
    limits: Limits


Resource = Connection | Profile | User | SyncConfiguration
KINDS: tuple[str, ...] = ("Connection", "Profile", "User", "SyncConfiguration")


@dataclass(frozen=True)
class ConfigSet:
    """A whole configuration: every valid resource by address, in normalised and typed form.

    ``normalized()`` and ``digest()`` are what plans pin ("was this plan made from these files?"):
    both are independent of file layout, key order and checkout location.
    """

    resources: Mapping[str, Resource]
    _normalized: Mapping[str, dict[str, Any]]
    _origins: Mapping[str, tuple[str, int]]

    @classmethod
    def empty(cls) -> ConfigSet:
        return cls(resources={}, _normalized={}, _origins={})

    @classmethod
    def from_normalized(
        cls, normalized: Mapping[str, Mapping[str, Any]], root: Path, origins: Mapping[str, tuple[str, int]] | None = None
    ) -> ConfigSet:
        """The ConfigSet of already normalised resources (e.g. the applied configuration a state
        holds); ``root`` anchors their relative secret and CA paths, as ``load_config``'s path did."""
        ordered = dict(sorted((address, json.loads(json.dumps(doc))) for address, doc in normalized.items()))
        return cls(
            resources={address: build_resource(doc, root) for address, doc in ordered.items()},
            _normalized=ordered,
            _origins=dict(origins or {}),
        )

    def _by_name(self, kind: type[Any]) -> dict[str, Any]:
        return {r.name: r for r in self.resources.values() if isinstance(r, kind)}

    @functools.cached_property
    def connections(self) -> dict[str, Connection]:
        return self._by_name(Connection)

    @functools.cached_property
    def profiles(self) -> dict[str, Profile]:
        return self._by_name(Profile)

    @functools.cached_property
    def users(self) -> dict[str, User]:
        return self._by_name(User)

    @functools.cached_property
    def configurations(self) -> dict[str, SyncConfiguration]:
        return self._by_name(SyncConfiguration)

    def normalized(self) -> dict[str, dict[str, Any]]:
        """address -> plain JSON-able resource with defaults filled and secrets as references.

        Secret and CA file paths appear relative to the configuration root (the directory given to
        ``load_config``), so the digest does not change with the checkout location.
        """
        return json.loads(json.dumps(dict(self._normalized)))

    def digest(self) -> str:
        """sha256 (hex) of the canonical JSON of all normalised resources ordered by address."""
        canonical = json.dumps(dict(self._normalized), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def origin(self, address: str) -> tuple[str, int]:
        """(file, line) where the resource at ``address`` is declared."""
        return self._origins[address]


# -- building from normalised documents ---------------------------------------------------------


def _secret(value: Mapping[str, Any] | None, root: Path) -> SecretRef | None:
    if value is None:
        return None
    ref = value["secretRef"]
    if "env" in ref:
        return SecretRef(env=ref["env"])
    return SecretRef(file=str((root / ref["file"]).resolve()))


def _path(value: str | None, root: Path) -> str | None:
    return None if value is None else str((root / value).resolve())


def _metadata(doc: Mapping[str, Any]) -> Metadata:
    meta = doc["metadata"]
    return Metadata(name=meta["name"], description=meta["description"], labels=dict(meta["labels"]))


def _mappings(items: list[Mapping[str, Any]]) -> tuple[FieldMapping, ...]:
    return tuple(FieldMapping(m["salesforceField"], m["exchangeField"], m["direction"]) for m in items)


def _deletes(value: Mapping[str, Any]) -> Deletes:
    return Deletes(value["salesforceToExchange"], value["exchangeToSalesforce"])


def build_resource(doc: Mapping[str, Any], root: Path) -> Resource:
    """The typed resource of a validated, normalised document. ``root`` anchors relative paths."""
    kind, spec = doc["kind"], doc["spec"]
    metadata = _metadata(doc)
    if kind == "Connection":
        return _connection(metadata, spec, root)
    if kind == "Profile":
        return Profile(metadata, tuple(spec["salesforceProfiles"]), tuple(spec["members"]))
    if kind == "User":
        return User(metadata, spec["salesforceUsername"], spec.get("mailbox"), spec["enabled"], spec["resetSync"])
    if kind == "SyncConfiguration":
        return _configuration(metadata, spec)
    raise ValueError(f"unknown kind {kind!r}")


def _connection(metadata: Metadata, spec: Mapping[str, Any], root: Path) -> Connection:
    if "salesforce" in spec:
        sf = spec["salesforce"]
        auth = sf["auth"]
        salesforce = SalesforceConnection(
            instance_url=sf["instanceUrl"],
            login_url=sf["loginUrl"],
            api_version=sf["apiVersion"],
            ca_file=_path(sf.get("caFile"), root),
            auth=SalesforceAuth(
                type=auth["type"],
                client_id=auth["clientId"],
                username=auth.get("username"),
                private_key=_secret(auth.get("privateKey"), root),
                client_secret=_secret(auth.get("clientSecret"), root),
                password=_secret(auth.get("password"), root),
                security_token=_secret(auth.get("securityToken"), root),
            ),
        )
        return Connection(metadata, salesforce=salesforce, exchange=None)
    ex = spec["exchange"]
    auth = ex["auth"]
    certificate = auth.get("certificate")
    exchange = ExchangeConnection(
        ews_url=ex.get("ewsUrl"),
        autodiscover=ex["autodiscover"],
        domains=tuple(ex["domains"]),
        ca_file=_path(ex.get("caFile"), root),
        auth=ExchangeAuth(
            type=auth["type"],
            username=auth.get("username"),
            password=_secret(auth.get("password"), root),
            impersonation=auth.get("impersonation"),
            tenant_id=auth.get("tenantId"),
            client_id=auth.get("clientId"),
            authority=auth.get("authority"),
            client_secret=_secret(auth.get("clientSecret"), root),
            certificate=(
                None
                if certificate is None
                else ExchangeCertificate(_secret(certificate["privateKey"], root), certificate["thumbprint"])  # type: ignore[arg-type]
            ),
        ),
    )
    return Connection(metadata, salesforce=None, exchange=exchange)


def _configuration(metadata: Metadata, spec: Mapping[str, Any]) -> SyncConfiguration:
    contacts, events, limits = spec["contacts"], spec["events"], spec["limits"]
    contact_set, event_set = contacts["dataSet"], events["dataSet"]
    return SyncConfiguration(
        metadata=metadata,
        salesforce_connection=spec["salesforceConnection"],
        exchange_connection=spec["exchangeConnection"],
        active=spec["active"],
        priority=spec["priority"],
        assign=Assign(tuple(spec["assign"]["users"]), tuple(spec["assign"]["profiles"])),
        contacts=ContactSettings(
            direction=contacts["direction"],
            data_set=ContactDataSet(
                scope=contact_set["scope"],
                filter=tuple(
                    FilterRule(
                        rule["field"],
                        rule["operator"],
                        tuple(rule["value"]) if isinstance(rule.get("value"), list) else rule.get("value"),
                    )
                    for rule in contact_set["filter"]
                ),
            ),
            conflict_policy=contacts["conflictPolicy"],
            deletes=_deletes(contacts["deletes"]),
            field_mappings=_mappings(contacts["fieldMappings"]),
        ),
        events=EventSettings(
            direction=events["direction"],
            data_set=EventDataSet(
                selection=event_set["selection"],
                category=event_set.get("category"),
                past_days=event_set["pastDays"],
                future_days=event_set["futureDays"],
            ),
            private_events=events["privateEvents"],
            attendees=events["attendees"],
            send_invitations=events["sendInvitations"],
            send_cancellations=events["sendCancellations"],
            relate_to_records=events["relateToRecords"],
            conflict_policy=events["conflictPolicy"],
            deletes=_deletes(events["deletes"]),
            field_mappings=_mappings(events["fieldMappings"]),
        ),
        limits=Limits(limits["recordsPerUser"], limits["maxChanges"], limits["maxDeletes"]),
    )
