"""The normalised form and digest: defaults filled, and independent of key order, file layout,
YAML style and checkout location; any real change moves the digest."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.config import ConfigSet, load_config

from .conftest import BASE

SYNC_BLOCK = """
apiVersion: reconciler/v1
kind: SyncConfiguration
metadata:
  name: sales
spec:
  salesforceConnection: sf
  exchangeConnection: ex
  assign:
    users: [alice]
  contacts:
    direction: both
"""

SYNC_REORDERED_FLOW = """
kind: SyncConfiguration
spec: {contacts: {direction: both}, assign: {users: [alice]}, exchangeConnection: ex, salesforceConnection: sf}
metadata: {name: sales}
apiVersion: reconciler/v1
"""


def _write(directory: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_digest_ignores_key_order_yaml_style_and_file_split(tmp_path: Path) -> None:
    one_file = _write(tmp_path / "one", {"all.yaml": BASE + "---" + SYNC_BLOCK})
    split = _write(tmp_path / "split", {"base.yaml": BASE, "sync/sales.yaml": SYNC_REORDERED_FLOW})
    a, b = load_config(one_file), load_config(split)
    assert a.ok and b.ok
    assert a.config.normalized() == b.config.normalized()
    assert a.config.digest() == b.config.digest()
    assert len(a.config.digest()) == 64


def test_digest_ignores_the_checkout_location(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "configs" / "acme"
    copy = shutil.copytree(examples, tmp_path / "elsewhere" / "acme")
    assert load_config(copy).config.digest() == load_config(examples).config.digest()


def test_digest_changes_with_any_value_and_with_writing_a_default(tmp_path: Path) -> None:
    base = load_config(_write(tmp_path / "a", {"c.yaml": BASE + "---" + SYNC_BLOCK})).config.digest()
    changed = load_config(_write(tmp_path / "b", {"c.yaml": BASE + "---" + SYNC_BLOCK.replace("both", "none")}))
    explicit_default = load_config(
        _write(tmp_path / "c", {"c.yaml": BASE + "---" + SYNC_BLOCK + "  priority: 100\n"})
    ).config.digest()
    assert changed.config.digest() != base
    assert explicit_default == base  # writing a default explicitly is no change


def test_normalised_form_has_every_default(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, {"c.yaml": BASE + "---" + SYNC_BLOCK})).config
    sync = config.normalized()["SyncConfiguration/sales"]
    assert sync["metadata"] == {"name": "sales", "description": "", "labels": {}}
    spec = sync["spec"]
    assert (spec["active"], spec["priority"]) == (True, 100)
    assert spec["assign"] == {"users": ["alice"], "profiles": []}
    assert spec["contacts"] == {
        "direction": "both",
        "dataSet": {"scope": "owned", "filter": []},
        "conflictPolicy": "salesforce_wins",
        "deletes": {"salesforceToExchange": "propagate", "exchangeToSalesforce": "unlink"},
        "fieldMappings": [],
    }
    assert spec["events"] == {
        "direction": "none",
        "dataSet": {"selection": "all", "pastDays": 30, "futureDays": 365},
        "privateEvents": "skip",
        "attendees": True,
        "sendInvitations": False,
        "sendCancellations": False,
        "relateToRecords": True,
        "conflictPolicy": "salesforce_wins",
        "deletes": {"salesforceToExchange": "propagate", "exchangeToSalesforce": "propagate"},
        "fieldMappings": [],
    }
    assert spec["limits"] == {"recordsPerUser": 50000, "maxChanges": 5000, "maxDeletes": 100}
    salesforce = config.normalized()["Connection/sf"]["spec"]["salesforce"]
    assert (salesforce["loginUrl"], salesforce["apiVersion"]) == ("https://login.salesforce.com", "61.0")
    exchange = config.normalized()["Connection/ex"]["spec"]["exchange"]
    assert exchange["autodiscover"] is False and exchange["auth"]["impersonation"] is True
    assert "authority" not in exchange["auth"]  # an oauth-only default does not leak into service accounts


def test_field_mapping_direction_defaults_to_both(tmp_path: Path) -> None:
    text = SYNC_BLOCK + "    fieldMappings:\n      - {salesforceField: Nickname__c, exchangeField: Nickname}\n"
    config = load_config(_write(tmp_path, {"c.yaml": BASE + "---" + text})).config
    (mapping,) = config.configurations["sales"].contacts.field_mappings
    assert (mapping.salesforce_field, mapping.exchange_field, mapping.direction) == ("Nickname__c", "Nickname", "both")


def test_a_config_set_rebuilt_from_its_normalised_form_is_equal(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, {"c.yaml": BASE + "---" + SYNC_BLOCK})).config
    rebuilt = ConfigSet.from_normalized(config.normalized(), tmp_path)
    assert rebuilt.resources == config.resources and rebuilt.digest() == config.digest()


def _shuffled(value: Any, data: st.DataObject) -> Any:
    if isinstance(value, dict):
        keys = data.draw(st.permutations(list(value)))
        return {key: _shuffled(value[key], data) for key in keys}
    if isinstance(value, list):
        return [_shuffled(item, data) for item in value]
    return value


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), flow=st.booleans())
def test_digest_is_stable_under_any_key_order_and_style(tmp_path_factory: pytest.TempPathFactory, data: st.DataObject, flow: bool) -> None:
    acme = Path(__file__).resolve().parents[2] / "examples" / "configs" / "acme"
    expected = load_config(acme).config.digest()
    target = tmp_path_factory.mktemp("acme")
    for path in acme.rglob("*.yaml"):
        documents = [_shuffled(doc, data) for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))]
        out = target / path.relative_to(acme)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=flow), encoding="utf-8")
    assert load_config(target).config.digest() == expected
