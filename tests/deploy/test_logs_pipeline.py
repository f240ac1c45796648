"""The log pipeline (Filebeat -> Logstash -> Elasticsearch/OpenSearch -> Kibana), checked offline.

Logstash, Elasticsearch and Kibana cannot run here (no container images), so:

- the CPF pattern of the Logstash pipeline is read from infra/logstash/pipeline/lendflow.conf and
  applied in Python with the pipeline's replacement: it must mask exactly what the project's own
  masker (lendflow.logging.mask_cpfs) masks, on sample lines and on generated text;
- the Kibana saved objects parse, reference each other and the data view correctly, and name only
  fields and events our processes really log (read from the code with `ast`);
- Filebeat reads our pods' lines (the chart's part-of label) and ships them to the pipeline's port.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lendflow import REPO_ROOT
from lendflow.logging import mask_cpfs

LOGSTASH = REPO_ROOT / "infra" / "logstash"
PIPELINE = (LOGSTASH / "pipeline" / "lendflow.conf").read_text()
SAVED_OBJECTS = REPO_ROOT / "infra" / "kibana" / "lendflow.ndjson"
FILEBEAT = REPO_ROOT / "infra" / "filebeat"
CODE = ["api", "activities", "integrations", "lendflow", "pipeline", "workers", "workflows", "storage", "domain"]
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
# What structlog adds to every line (lendflow/logging.py), and what Logstash and Filebeat add.
STRUCTLOG_FIELDS = {"event", "level", "logger", "timestamp", "exception"}


def _logstash_cpf_masker() -> Any:
    """The pipeline's own pattern and replacement, as the ruby filter applies them."""
    literal = re.search(r"@cpf_pattern = /(.+)/\s*$", PIPELINE, re.MULTILINE)
    assert literal, "the pipeline no longer defines @cpf_pattern"
    pattern = re.compile(literal.group(1))
    replacement = re.search(
        r'gsub\(@cpf_pattern\) \{ "\*\*\*\.#\{\$(\d) \|\| \$(\d)\}\.#\{\$(\d) \|\| \$(\d)\}-\*\*" \}', PIPELINE
    )
    assert replacement, "the pipeline no longer masks as ***.ddd.ddd-**"
    middle_a, middle_b, end_a, end_b = (int(group) for group in replacement.groups())

    def mask(text: str) -> str:
        return pattern.sub(
            lambda m: f"***.{m.group(middle_a) or m.group(middle_b)}.{m.group(end_a) or m.group(end_b)}-**", text
        )

    return mask


LOGSTASH_MASK = _logstash_cpf_masker()

CPF_LINES = [
    '{"event": "customer.registered", "cpf": "12345678909"}',
    '{"event": "provider.call_failed", "error": "CPF 123.456.789-09 is irregular"}',
    "consulta cpf=52998224725 status=regular",
    "two: 529.982.247-25 and 11144477735.",
    "(12345678909)",
    "cpf:12345678909,name",
]
UNTOUCHED_LINES = [
    '{"event": "loan.submitted", "application_id": "0e8a1b2c-3d4e-4f56-8a7b-123456789012"}',
    "document a1b2c3d4e5f612345678909ab stored",
    "amount 123456789012 centavos",
    "txid E12345678909",
    "pix key +5511912345678",
    "version 1.2.3-45",
]


def test_the_pipeline_masks_cpfs_as_the_project_masker_does() -> None:
    for line in CPF_LINES:
        masked = LOGSTASH_MASK(line)
        assert masked == mask_cpfs(line)
        assert masked != line
        assert "***." in masked
        for cpf in re.findall(r"\d{3}\.?\d{3}\.?\d{3}-?\d{2}", line):
            assert cpf not in masked
    for line in UNTOUCHED_LINES:
        assert LOGSTASH_MASK(line) == line == mask_cpfs(line)


# Text made of the pieces that decide what is a CPF: runs of digits around 11 long, formatted CPFs
# (right and wrong), and the letters, dots, dashes and quotes that may touch them. ASCII digits:
# Ruby's regexps (Logstash) know no others, and a CPF has no others.
_PIECES = st.one_of(
    st.text(alphabet="0123456789", min_size=9, max_size=13),
    st.from_regex(r"\A[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}\Z"),
    st.from_regex(r"\A[0-9]{2,4}[.-][0-9]{3}[.-]?[0-9]{3}-?[0-9]{1,3}\Z"),
    st.sampled_from(["a", "Z", "x", ".", "-", " ", '"', ":", "=", "_", "{", "}", "/"]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=8).map("".join))
def test_the_pipeline_pattern_agrees_with_the_project_masker_on_any_text(text: str) -> None:
    assert LOGSTASH_MASK(text) == mask_cpfs(text)


def test_the_pipeline_keeps_every_field_and_masks_every_field() -> None:
    assert re.search(r'json\s*\{[^}]*source\s*=>\s*"message"[^}]*target\s*=>\s*"lendflow"', PIPELINE, re.DOTALL)
    # The masker walks the raw message and the whole parsed object, nested hashes and arrays too.
    assert '["message", "lendflow"].each' in PIPELINE
    assert "when Hash" in PIPELINE and "when Array" in PIPELINE
    assert not re.search(r"\b(remove_field|prune|drop)\b", PIPELINE)


# --- what our processes log ------------------------------------------------------------------------


def _logged_names() -> tuple[set[str], set[str]]:
    """(event names, field names) of every structlog call and context binding in the code."""
    events: set[str] = set()
    fields: set[str] = set(STRUCTLOG_FIELDS)
    for folder in CODE:
        for path in (REPO_ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text())
            binds = "bind_contextvars" in path.read_text() or "bound_contextvars" in path.read_text()
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    name = node.func.attr
                    first = node.args[0] if node.args else None
                    if (
                        name in LOG_METHODS
                        and isinstance(first, ast.Constant)
                        and isinstance(first.value, str)
                        and "." in first.value
                    ):
                        events.add(first.value)
                        fields.update(k.arg for k in node.keywords if k.arg)
                    if name in {"bind_contextvars", "bound_contextvars", "bind"}:
                        fields.update(k.arg for k in node.keywords if k.arg)
                if binds and isinstance(node, ast.Dict):
                    fields.update(
                        k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)
                    )
                if (
                    binds
                    and isinstance(node, ast.Subscript)
                    and isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str)
                ):
                    fields.add(node.slice.value)
    return events, fields


EVENTS, FIELDS = _logged_names()


def _objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in SAVED_OBJECTS.read_text().splitlines() if line.strip()]


def _lendflow_fields(text: str) -> set[str]:
    return {name.removesuffix(".keyword") for name in re.findall(r"\blendflow\.([a-z_]+(?:\.keyword)?)", text)}


def test_the_code_logs_the_events_and_fields_the_saved_objects_use() -> None:
    # The reading of the code itself: if it found nothing, every check below would pass vacuously.
    assert {"pipeline.dead_lettered", "loan.submitted", "provider.timeout"} <= EVENTS
    assert {"application_id", "workflow_id", "activity", "stage", "error_class", "request_id"} <= FIELDS


def test_saved_objects_reference_only_what_exists() -> None:
    objects = _objects()
    by_id = {(o["type"], o["id"]): o for o in objects}
    assert len(by_id) == len(objects)
    patterns = [o for o in objects if o["type"] == "index-pattern"]
    assert patterns and all(o["attributes"]["title"] == "lendflow-*" for o in patterns)
    assert all(o["attributes"]["timeFieldName"] == "@timestamp" for o in patterns)
    for obj in objects:
        for reference in obj["references"]:
            assert (reference["type"], reference["id"]) in by_id, (obj["id"], reference)
        meta = obj["attributes"].get("kibanaSavedObjectMeta", {})
        source = json.loads(meta.get("searchSourceJSON", "{}"))
        if "indexRefName" in source:
            by_name = {r["name"]: r for r in obj["references"]}
            assert by_name[source["indexRefName"]]["type"] == "index-pattern"
        if obj["type"] == "visualization":
            names = {r["name"] for r in obj["references"]}
            assert obj["attributes"]["savedSearchRefName"] in names
            json.loads(obj["attributes"]["visState"])
        if obj["type"] == "dashboard":
            panels = json.loads(obj["attributes"]["panelsJSON"])
            assert {p["panelRefName"] for p in panels} == {r["name"] for r in obj["references"]}
    searches = {o["id"]: o for o in objects if o["type"] == "search"}
    # Every saved search reads the data view the Logstash output writes (index lendflow-YYYY.MM.dd).
    assert 'index => "lendflow-%{+YYYY.MM.dd}"' in (LOGSTASH / "outputs" / "elasticsearch.conf").read_text()
    for search in searches.values():
        (index,) = [r for r in search["references"] if r["type"] == "index-pattern"]
        assert (index["type"], index["id"]) in by_id
    assert {"lendflow-application-audit-trail", "lendflow-errors-by-step", "lendflow-dead-letters"} <= set(searches)


def test_saved_objects_name_fields_and_events_our_processes_log() -> None:
    used: set[str] = set()
    for obj in _objects():
        text = json.dumps(obj["attributes"])
        used |= _lendflow_fields(text)
        for event in re.findall(r'lendflow\.event : \\+"([a-z_.]+)\\+"', text):
            assert event in EVENTS, event
    assert used, "the saved objects name no lendflow field"
    assert used <= FIELDS, used - FIELDS
    audit = next(o for o in _objects() if o["id"] == "lendflow-application-audit-trail")
    query = json.loads(audit["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]["query"]
    assert "lendflow.application_id" in query and '"loan-' in query
    dead = next(o for o in _objects() if o["id"] == "lendflow-dead-letters")
    assert "lendflow.error_class" in dead["attributes"]["columns"]


# --- Filebeat --------------------------------------------------------------------------------------


def test_filebeat_reads_our_pods_and_ships_to_the_pipeline() -> None:
    beats_port = re.search(r"beats\s*\{\s*port\s*=>\s*(\d+)", PIPELINE).group(1)  # type: ignore[union-attr]
    cluster = yaml.safe_load((FILEBEAT / "filebeat.yml").read_text())
    (provider,) = cluster["filebeat.autodiscover"]["providers"]
    assert provider["type"] == "kubernetes"
    (template,) = provider["templates"]
    label = template["condition"]["equals"]
    assert label == {"kubernetes.labels.app_kubernetes_io/part-of": "lendflow"}
    helpers = REPO_ROOT / "infra" / "helm" / "lendflow" / "templates" / "_helpers.tpl"
    assert "app.kubernetes.io/part-of: lendflow" in helpers.read_text()
    assert cluster["output.logstash"]["hosts"][0].rstrip("}").endswith(f":{beats_port}")
    compose = yaml.safe_load((FILEBEAT / "filebeat-docker.yml").read_text())
    assert compose["output.logstash"]["hosts"][0].rstrip("}").endswith(f":{beats_port}")
    for config in (cluster, compose):
        assert "output.elasticsearch" not in config
