"""Offline checks of Kubernetes resources: core kinds against kubernetes-validate's strict schemas,
FlinkDeployments against the operator's CRD schema (read from the shared reference folder) plus the unknown
keys a CRD schema lets through, and what no schema sees (selectors matching their pod labels)."""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CRD = REPO.parent / "shared" / "reference" / "flinkdeployments.flink.apache.org-v1.yml"
needs_crd = pytest.mark.skipif(not CRD.exists(), reason=f"the operator's CRD is not at {CRD}")
K8S_VERSION = "1.33.0"
NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_all(text: str) -> list[dict]:
    return [doc for doc in yaml.load_all(text, Loader=Loader) if doc is not None]


@functools.cache
def flink_schema() -> dict:
    crd = yaml.load(CRD.read_text(), Loader=Loader)
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    return to_json_schema(version["schema"]["openAPIV3Schema"])


def to_json_schema(node):
    """OpenAPI v3 as JSON Schema: int-or-string as anyOf, ``nullable`` as a type list."""
    if isinstance(node, list):
        return [to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: to_json_schema(v) for k, v in node.items()}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def unknown_keys(value, schema: dict, path: str = "") -> list[str]:
    """Keys the schema does not declare: an apiserver prunes them silently (or rejects them under strict
    field validation); only ``x-kubernetes-preserve-unknown-fields`` and ``additionalProperties`` allow them."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(value, list) and "items" in schema:
        return [k for i, item in enumerate(value) for k in unknown_keys(item, schema["items"], f"{path}[{i}]")]
    if not isinstance(value, dict):
        return []
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties")
    found = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        if key in properties:
            found += unknown_keys(item, properties[key], where)
        elif isinstance(extra, dict):
            found += unknown_keys(item, extra, where)
        elif extra is not True and (properties or extra is False):
            found.append(where)
    return found


def flink_errors(resource: dict) -> list[str]:
    """Why the operator's CRD would refuse ``resource`` (a FlinkDeployment), or nothing."""
    schema = flink_schema()
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(resource)]  # fmt: skip
    body = {k: v for k, v in resource.items() if k not in ("apiVersion", "kind", "metadata")}  # every object has them
    errors += [f"{key}: unknown field" for key in unknown_keys(body, schema)]
    if (resource.get("apiVersion"), resource.get("kind")) != ("flink.apache.org/v1beta1", "FlinkDeployment"):
        errors.append(f"apiVersion/kind: {resource.get('apiVersion')}/{resource.get('kind')} is not the CRD's")
    return errors


def core_errors(resource: dict) -> list[str]:
    """kubernetes-validate's strict schema of the resource's kind, plus selectors that miss their pods."""
    import kubernetes_validate

    errors = []
    try:
        kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as e:
        errors.append(f"{'.'.join(map(str, e.path))}: {e.message}")
    errors += selector_errors(resource)
    return errors


def selector_errors(resource: dict) -> list[str]:
    spec = resource.get("spec", {})
    if resource["kind"] not in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"):
        return []
    wanted = spec.get("selector", {}).get("matchLabels", {})
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    if any(labels.get(k) != v for k, v in wanted.items()):
        return [f"spec.selector {wanted} does not match the template's labels {labels}"]
    return []


def name_errors(resource: dict) -> list[str]:
    """Every kind's name is at least a lowercase RFC 1123 subdomain (kubernetes-validate's schemas say only
    "string"; the apiserver caught ``Bad_Name`` on a Deployment that passed them)."""
    name = resource.get("metadata", {}).get("name", "")
    if not NAME.fullmatch(name) or len(name) > 253:
        return [f"metadata.name: {name!r} is not a lowercase RFC 1123 subdomain"]
    return []


def errors(resource: dict) -> list[str]:
    found = flink_errors(resource) if resource.get("kind") == "FlinkDeployment" else core_errors(resource)
    return found + name_errors(resource)


def _parent(resource: dict, path: str) -> tuple[dict, dict | list, str | int]:
    """A deep copy of ``resource``, the node holding ``path``'s last key (dotted, list indexes as numbers), that key."""
    copied = copy.deepcopy(resource)
    *parents, last = path.split(".")
    node = copied
    for key in parents:
        node = node[int(key)] if key.isdigit() else node[key]
    return copied, node, int(last) if last.isdigit() else last


def changed(resource: dict, path: str, value) -> dict:
    """A copy of ``resource`` with ``value`` at the dotted ``path`` (``spec.containers.0.image``)."""
    copied, node, key = _parent(resource, path)
    node[key] = value
    return copied


def renamed(resource: dict, path: str, new: str) -> dict:
    """A copy of ``resource`` with the key at ``path`` renamed to ``new`` (a misspelled field)."""
    copied, node, key = _parent(resource, path)
    node[new] = node.pop(key)
    return copied
