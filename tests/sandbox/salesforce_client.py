"""Helpers for the Salesforce emulator's contract tests: real clients, real HTTPS, verification on.

Import as ``from sandbox.salesforce_client import ...`` (``tests/`` is on sys.path through the
project conftest).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from simple_salesforce import Salesforce

from reconciler.sandbox.server import Sandbox, load_seed
from reconciler.sandbox.salesforce import SalesforceService

API_VERSION = "61.0"


def salesforce_service(sandbox: Sandbox) -> SalesforceService:
    service = sandbox.services["salesforce"]
    assert isinstance(service, SalesforceService)
    return service


def verified_session(sandbox: Sandbox) -> requests.Session:
    """A session that trusts the sandbox CA and nothing from the environment."""
    session = requests.Session()
    session.trust_env = False
    session.verify = str(sandbox.ca_file)
    return session


def credentials(sandbox: Sandbox) -> dict[str, str]:
    return sandbox.endpoints()["salesforce"]["credentials"]


def token_url(sandbox: Sandbox) -> str:
    return sandbox.endpoints()["salesforce"]["tokenUrl"]


def request_token(sandbox: Sandbox, **form: str) -> requests.Response:
    """POST the form to the token endpoint, as any OAuth client does."""
    with verified_session(sandbox) as session:
        return session.post(token_url(sandbox), data=form)


def client_credentials_token(sandbox: Sandbox) -> str:
    creds = credentials(sandbox)
    response = request_token(sandbox, grant_type="client_credentials", client_id=creds["clientId"],
                             client_secret=creds["clientSecret"])
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def assertion(sandbox: Sandbox, username: str, private_key: str | None = None,
              audience: str = "https://login.salesforce.com", issuer: str | None = None,
              lifetime: dt.timedelta = dt.timedelta(minutes=3)) -> str:
    """A JWT bearer assertion as simple-salesforce builds it (iss, sub, aud, exp; RS256)."""
    creds = credentials(sandbox)
    claims = {"iss": issuer or creds["clientId"], "sub": username, "aud": audience,
              "exp": int((dt.datetime.now(dt.timezone.utc) + lifetime).timestamp())}
    return jwt.encode(claims, private_key or creds["jwtPrivateKey"], algorithm="RS256")


def jwt_token(sandbox: Sandbox, username: str) -> str:
    response = request_token(sandbox, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                             assertion=assertion(sandbox, username))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def client(sandbox: Sandbox, username: str | None = None) -> Salesforce:
    """simple-salesforce acting as ``username`` (JWT bearer) or the integration user."""
    token = client_credentials_token(sandbox) if username is None else jwt_token(sandbox, username)
    return Salesforce(instance_url=sandbox.base_url, session_id=token, session=verified_session(sandbox),
                      version=API_VERSION)


def record_id(sf: Salesforce, soql: str) -> str:
    """The Id of the one record ``soql`` finds."""
    records: list[dict[str, Any]] = sf.query(soql)["records"]
    assert len(records) == 1, records
    return str(records[0]["Id"])


def running_sandbox(data_dir: Path, seed: dict[str, Any]) -> Sandbox:
    """A Salesforce-only sandbox (use as a context manager)."""
    return Sandbox(data_dir=data_dir, seed=seed, services=[SalesforceService()])


@pytest.fixture(scope="session")
def sf_demo_seed() -> dict[str, Any]:
    """The built-in seed, parsed once per test process (YAML parsing is the slow part of start-up)."""
    return load_seed(None)


@pytest.fixture
def sf_seed(sf_demo_seed: dict[str, Any]) -> dict[str, Any]:
    """The seed ``sf_sandbox`` loads: the built-in demo cast unless a test module overrides it."""
    return copy.deepcopy(sf_demo_seed)


@pytest.fixture
def sf_sandbox(tmp_path: Path, sf_seed: dict[str, Any]) -> Iterator[Sandbox]:
    """A running sandbox with its own data directory, seeded from ``sf_seed``."""
    with running_sandbox(tmp_path / "sandbox", sf_seed) as running:
        yield running


@pytest.fixture
def sf(sf_sandbox: Sandbox) -> Salesforce:
    """simple-salesforce logged in as the integration user."""
    return client(sf_sandbox)
