"""Strict JSON schemas for kubeconform, generated offline from the sources Kubernetes and the CRDs ship.

    python k8s_schemas.py --swagger .../k8s.io/kubernetes@v1.33.x/api/openapi-spec/swagger.json \
        --crds .../karpenter-provider-aws@v1.x/pkg/apis/crds .../keda/v2@v2.x/config/crd/bases \
        --kubernetes-version 1.33.13 --out .run/schemas

What it writes (the layouts kubeconform's `-schema-location` templates name):

    OUT/v1.33.13-standalone-strict/{kind}-{group prefix}-{version}.json   every kind of the API server
        template: OUT/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json
    OUT/crds/{group}/{kind}_{version}.json                                every version of every CRD given
        template: OUT/crds/{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json

The conversion follows openapi2jsonschema (instrumenta's, and the copy kubeconform keeps in `scripts/`):

- strict: every object schema that lists `properties` gets `additionalProperties: false` (what
  `kubectl --validate=strict` and the API server's field validation refuse), except where a CRD says
  `x-kubernetes-preserve-unknown-fields`;
- standalone: each file carries the definitions it references under `definitions`, so it needs no
  other file (recursive types such as JSONSchemaProps stay references);
- `int-or-string` becomes `string | integer`, a `Quantity` becomes a quantity-shaped string or a
  number, a CRD's `nullable: true` admits null;
- a CRD's `metadata` (only `type: object` in the CRD) is the API server's ObjectMeta, so a typo in a
  custom resource's labels or annotations is caught too.

Unlike the published kubernetes-json-schema, optional fields do not admit `null`: the chart never
renders one on purpose, and an empty value that renders as null is a template bug worth failing on.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

Schema = dict[str, Any]

REF_PREFIX = "#/definitions/"
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
# The grammar of resource.Quantity, as the API server's own CRD schemas spell it.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)


def int_or_string() -> Schema:
    return {"oneOf": [{"type": "string"}, {"type": "integer"}]}


def quantity() -> Schema:
    return {"oneOf": [{"type": "string", "pattern": QUANTITY_PATTERN}, {"type": "number"}]}


def strict(node: Any) -> Any:
    """The schema with unknown fields refused and the Kubernetes-specific formats spelled in JSON Schema."""
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("format") == "int-or-string" or node.get("x-kubernetes-int-or-string"):
        return int_or_string()
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    out: Schema = {}
    for key, value in node.items():
        # Documentation and the API server's own extensions (list types, CEL rules) mean nothing to a
        # JSON Schema validator: dropping them keeps the files small and the validation the same.
        if key == "description" or key.startswith("x-kubernetes-"):
            continue
        if key in ("properties", "patternProperties", "definitions"):
            out[key] = {name: strict(sub) for name, sub in value.items()}
        elif key == "nullable":
            continue
        else:
            out[key] = strict(value)
    if node.get("nullable") and "type" in out:
        kinds = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*kinds, "null"]
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def references(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(REF_PREFIX):
            yield ref[len(REF_PREFIX) :]
        for value in node.values():
            yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def closure(root: Schema, definitions: dict[str, Schema]) -> dict[str, Schema]:
    """The definitions `root` needs, directly or through each other."""
    needed: dict[str, Schema] = {}
    pending = list(references(root))
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        if name not in definitions:
            raise KeyError(f"unresolved reference {name}")
        needed[name] = definitions[name]
        pending.extend(references(definitions[name]))
    return needed


def kubernetes_definitions(swagger: dict[str, Any]) -> dict[str, Schema]:
    definitions = {name: strict(schema) for name, schema in swagger["definitions"].items()}
    definitions[INT_OR_STRING] = int_or_string()
    definitions[QUANTITY] = quantity()
    return definitions


def kind_suffix(group: str, version: str) -> str:
    """kubeconform's `KindSuffix`: the group's first label (or the core version) and the version."""
    return f"-{group.split('.')[0].lower()}-{version.lower()}" if group else f"-{version.lower()}"


def standalone(schema: Schema, definitions: dict[str, Schema]) -> Schema:
    out = copy.deepcopy(schema)
    needed = closure(out, definitions)
    if needed:
        out["definitions"] = copy.deepcopy(needed)
    return out


def write_json(path: Path, schema: Schema) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(schema, sort_keys=True, separators=(",", ":")))


def write_kubernetes(swagger: dict[str, Any], definitions: dict[str, Schema], out: Path) -> int:
    written = 0
    for name, raw in swagger["definitions"].items():
        for gvk in raw.get("x-kubernetes-group-version-kind", []):
            schema = dict(definitions[name])
            properties = schema.get("properties", {})
            # Only what a manifest can be: a kind that says its own apiVersion and kind.
            if "apiVersion" not in properties or "kind" not in properties:
                continue
            api_version = f"{gvk['group']}/{gvk['version']}" if gvk["group"] else gvk["version"]
            schema["properties"] = {
                **properties,
                "apiVersion": {"type": "string", "enum": [api_version]},
                "kind": {"type": "string", "enum": [gvk["kind"]]},
            }
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
            filename = f"{gvk['kind'].lower()}{kind_suffix(gvk['group'], gvk['version'])}.json"
            write_json(out / filename, standalone(schema, definitions))
            written += 1
    return written


def crd_documents(directory: Path) -> Iterable[dict[str, Any]]:
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                yield document


def write_crds(directories: Iterable[Path], definitions: dict[str, Schema], out: Path) -> int:
    written = 0
    meta = {"$ref": REF_PREFIX + OBJECT_META}
    for directory in directories:
        documents = list(crd_documents(directory))
        if not documents:
            raise FileNotFoundError(f"no CustomResourceDefinition in {directory}")
        for crd in documents:
            spec = crd["spec"]
            group, kind = spec["group"], spec["names"]["kind"]
            for version in spec["versions"]:
                raw = version.get("schema", {}).get("openAPIV3Schema")
                if raw is None:
                    continue
                schema = strict(raw)
                schema["properties"] = {
                    **schema.get("properties", {}),
                    "apiVersion": {"type": "string", "enum": [f"{group}/{version['name']}"]},
                    "kind": {"type": "string", "enum": [kind]},
                    "metadata": meta,
                }
                schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
                schema["additionalProperties"] = False
                write_json(
                    out / "crds" / group / f"{kind.lower()}_{version['name']}.json", standalone(schema, definitions)
                )
                written += 1
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--swagger", type=Path, required=True, help="api/openapi-spec/swagger.json of k8s.io/kubernetes"
    )
    parser.add_argument("--crds", type=Path, nargs="*", default=[], help="folders of CustomResourceDefinition YAML")
    parser.add_argument("--kubernetes-version", required=True, help="e.g. 1.33.13 (names the output folder)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    swagger = json.loads(args.swagger.read_text())
    definitions = kubernetes_definitions(swagger)
    native = write_kubernetes(swagger, definitions, args.out / f"v{args.kubernetes_version}-standalone-strict")
    custom = write_crds(args.crds, definitions, args.out)
    if native == 0 or (args.crds and custom == 0):
        print(f"no schema written (kinds: {native}, custom resources: {custom})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
