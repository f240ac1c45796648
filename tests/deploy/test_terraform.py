"""The Terraform for AWS (infra/terraform), checked with the real tools that run offline.

`terraform validate` cannot run here (the AWS, Helm and Cloudflare providers cannot be downloaded),
so the checks are:

- `terraform fmt -check -recursive` (the machine's terraform, else OpenTofu built by infra/tools/terraform.sh);
- tflint's core ruleset with zero issues on every module and environment (tflint v0.64.0, built by
  infra/tools/tflint.sh; its bundled terraform plugin, since plugin releases cannot be downloaded);
- checkov with zero failed checks, every skip carrying its reason inline;
- what the modules promise, read from the files: the standard files, no provider blocks in modules,
  tags on every taggable AWS resource, pinned providers and registry modules, state in S3 with locking;
- deliberately broken inputs (an unformatted file, a variable without type or description, an
  unencrypted database), which these checks must catch.

The first run builds tflint (minutes) and installs checkov into .run/checkov; later runs reuse them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lendflow import REPO_ROOT

# The tool builds run in the first tests' set-up: allow them the time a cold machine needs.
pytestmark = pytest.mark.timeout(1800)

TERRAFORM = REPO_ROOT / "infra" / "terraform"
MODULES = TERRAFORM / "modules"
ENVIRONMENTS = TERRAFORM / "envs"
ROOTS = [ENVIRONMENTS / "staging", ENVIRONMENTS / "production", TERRAFORM / "bootstrap"]
TOOLS = REPO_ROOT / "infra" / "tools"
TFLINT_CONFIG = TERRAFORM / ".tflint.hcl"

# AWS resource types of the modules that take no tags (everything else must be tagged).
UNTAGGABLE = {
    "aws_acm_certificate_validation",
    "aws_cloudwatch_log_resource_policy",
    "aws_iam_role_policy_attachment",
    "aws_kms_alias",
    "aws_msk_configuration",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_secretsmanager_secret_version",
}


def _run(args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO_ROOT, **kwargs)


def _tool(script: str) -> str:
    installed = _run(["bash", str(TOOLS / script)], timeout=1700)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return installed.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def terraform() -> str:
    return _tool("terraform.sh")


@pytest.fixture(scope="module")
def tflint() -> str:
    return _tool("tflint.sh")


@pytest.fixture(scope="module")
def checkov() -> str:
    return _tool("checkov.sh")


# --- reading HCL blocks -------------------------------------------------------------------------


def _blocks(text: str, kind: str) -> Iterator[tuple[list[str], str]]:
    """The labels and body of every top-level `kind "label" ... {` block (braces counted outside strings)."""
    for match in re.finditer(rf'^{kind}((?:\s+"[^"]*")*)\s*\{{', text, re.MULTILINE):
        labels = re.findall(r'"([^"]*)"', match.group(1))
        depth, position, in_string = 1, match.end(), False
        while depth and position < len(text):
            char = text[position]
            if in_string:
                if char == "\\":
                    position += 1
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char == "#":
                end = text.find("\n", position)
                position = len(text) if end < 0 else end
                continue
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            position += 1
        yield labels, text[match.end() : position - 1]


def _tf_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.tf"))


def _module_dirs() -> list[Path]:
    return sorted(path for path in MODULES.iterdir() if path.is_dir())


def test_every_module_has_its_standard_files_and_typed_described_variables() -> None:
    modules = _module_dirs()
    assert {m.name for m in modules} >= {"network", "eks", "postgres", "kafka", "redis", "temporal", "edge", "logs"}
    for module in modules:
        for name in ("main.tf", "versions.tf", "variables.tf", "outputs.tf"):
            assert (module / name).is_file(), f"{module.name} lacks {name}"
        variables = list(_blocks((module / "variables.tf").read_text(), "variable"))
        assert variables, module.name
        for labels, body in variables:
            assert re.search(r"^\s*type\s*=", body, re.MULTILINE), f"{module.name}: {labels[0]} has no type"
            assert re.search(r"^\s*description\s*=", body, re.MULTILINE), f"{module.name}: {labels[0]} undescribed"
        assert any("validation" in body for _, body in variables), f"{module.name} validates nothing"
        for labels, body in _blocks((module / "outputs.tf").read_text(), "output"):
            assert re.search(r"^\s*description\s*=", body, re.MULTILINE), f"{module.name}: output {labels[0]}"


def test_modules_configure_no_provider_and_hard_code_no_region_or_account() -> None:
    for path in _tf_files(MODULES):
        text = path.read_text()
        assert not list(_blocks(text, "provider")), f"{path} configures a provider"
        code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
        assert not re.search(r"\b(us|eu|sa|ap|ca|me|af|il|mx)-[a-z]+-\d\b", code), f"{path} names a region"
        assert not re.search(r"(?<![\d.])\d{12}(?![\d.])", code), f"{path} names an account"


def test_every_taggable_aws_resource_is_tagged() -> None:
    checked = 0
    for path in _tf_files(MODULES) + _tf_files(TERRAFORM / "bootstrap"):
        for (kind, name), body in _blocks(path.read_text(), "resource"):
            if not kind.startswith("aws_") or kind in UNTAGGABLE:
                continue
            checked += 1
            assert re.search(r"^\s*tags\s*=", body, re.MULTILINE), f"{path.name}: {kind}.{name} has no tags"
        for (name,), body in _blocks(path.read_text(), "module"):
            assert re.search(r"^\s*tags\s*=", body, re.MULTILINE), f"{path.name}: module {name} passes no tags"
    assert checked >= 30


def test_environments_pin_providers_and_keep_state_in_s3_with_locking() -> None:
    staging, production = ENVIRONMENTS / "staging", ENVIRONMENTS / "production"
    for env in (staging, production):
        versions = (env / "versions.tf").read_text()
        (_, terraform_block), *_ = _blocks(versions, "terraform")
        pins = dict(re.findall(r'source\s*=\s*"([^"]+)"\s*\n\s*version\s*=\s*"([^"]+)"', terraform_block))
        assert set(pins) == {"hashicorp/aws", "hashicorp/helm", "cloudflare/cloudflare", "hashicorp/random"}
        for source, version in pins.items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{env.name}: {source} is not pinned ({version})"
        backend = (env / "backend.tf").read_text()
        assert re.search(r'backend\s+"s3"', backend)
        assert re.search(r"use_lockfile\s*=\s*true", backend) or "dynamodb_table" in backend
        assert re.search(r"encrypt\s*=\s*true", backend)
        assert f"lendflow/{env.name}/" in backend
    # Thin compositions of the same modules: only the environment's name and sizes differ.
    for name in ("main.tf", "variables.tf", "outputs.tf", "providers.tf", "versions.tf"):
        same = (staging / name).read_text().replace("staging", "ENV")
        assert same == (production / name).read_text().replace("production", "ENV"), name
    composed = {labels[0] for labels, _ in _blocks((staging / "main.tf").read_text(), "module")}
    assert {m.name for m in _module_dirs()} <= composed
    for path in _tf_files(TERRAFORM):
        for (name,), body in _blocks(path.read_text(), "module"):
            source = re.search(r'source\s*=\s*"([^"]+)"', body).group(1)  # type: ignore[union-attr]
            if not source.startswith("."):
                assert re.search(r'version\s*=\s*"\d+\.\d+\.\d+"', body), f"{path}: module {name} is not pinned"


def test_the_data_services_keep_their_promises() -> None:
    postgres = (MODULES / "postgres" / "main.tf").read_text()
    for setting in ("multi_az", "storage_encrypted", "deletion_protection", "copy_tags_to_snapshot"):
        assert re.search(rf"^\s*{setting}\s*=\s*true$", postgres, re.MULTILINE), setting
    assert re.search(r"backup_retention_period\s*=\s*var\.backup_retention_days", postgres)
    kafka = (MODULES / "kafka" / "main.tf").read_text()
    assert re.search(r'client_broker\s*=\s*"TLS"', kafka) and re.search(r"iam\s*=\s*true", kafka)
    assert re.search(r"unauthenticated\s*=\s*false", kafka)
    redis = (MODULES / "redis" / "main.tf").read_text()
    for setting in ("transit_encryption_enabled", "at_rest_encryption_enabled", "automatic_failover_enabled"):
        assert re.search(rf"{setting}\s*=\s*true", redis), setting
    assert re.search(r"auth_token\s*=", redis)
    assert re.search(r"num_cache_clusters\s*=\s*1 \+ var\.replicas", redis)
    eks = (MODULES / "eks" / "main.tf").read_text()
    assert 'source  = "terraform-aws-modules/eks/aws//modules/karpenter"' in eks
    assert {"karpenter", "aws_load_balancer_controller", "keda"} <= {
        labels[1] for labels, _ in _blocks(eks, "resource") if labels[0] == "helm_release"
    }
    edge = (MODULES / "edge" / "main.tf").read_text()
    assert re.search(r"proxied\s*=\s*true", edge)
    assert {"http_request_firewall_managed", "ddos_l7", "http_request_cache_settings"} <= set(
        re.findall(r'phase\s*=\s*"([^"]+)"', edge)
    )


# --- terraform fmt --------------------------------------------------------------------------------


def test_terraform_files_are_formatted(terraform: str) -> None:
    result = _run([terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)])
    assert result.returncode == 0, result.stdout[-3000:]


def test_an_unformatted_file_is_caught(terraform: str, tmp_path: Path) -> None:
    module = tmp_path / "redis"
    shutil.copytree(MODULES / "redis", module)
    outputs = module / "outputs.tf"
    outputs.write_text(outputs.read_text().replace("  value       =", "  value =", 1))
    result = _run([terraform, "fmt", "-check", "-recursive", str(tmp_path)])
    assert result.returncode != 0
    assert "outputs.tf" in result.stdout


# --- tflint ---------------------------------------------------------------------------------------


def _tflint(tflint: str, folder: Path, recursive: bool = False) -> tuple[int, dict[str, Any]]:
    args = [tflint, f"--chdir={folder}", f"--config={TFLINT_CONFIG}", "--format=json"]
    result = _run(args + (["--recursive"] if recursive else []), timeout=600)
    return result.returncode, json.loads(result.stdout or "{}")


def test_tflint_finds_no_issue_in_any_module_or_environment(tflint: str) -> None:
    code, report = _tflint(tflint, TERRAFORM, recursive=True)
    assert report.get("errors") == [], report.get("errors")
    assert report.get("issues") == [], [(i["rule"]["name"], i["range"]["filename"]) for i in report["issues"]]
    assert code == 0


def test_tflint_catches_a_variable_without_type_or_description(tflint: str, tmp_path: Path) -> None:
    module = tmp_path / "redis"
    shutil.copytree(MODULES / "redis", module)
    variables = module / "variables.tf"
    variables.write_text(variables.read_text() + '\nvariable "snapshot_window" {}\n')
    main = module / "main.tf"
    main.write_text(
        re.sub(r'snapshot_window\s*=\s*"02:00-03:00"', "snapshot_window = var.snapshot_window", main.read_text())
    )
    code, report = _tflint(tflint, module)
    rules = {issue["rule"]["name"] for issue in report["issues"]}
    assert {"terraform_typed_variables", "terraform_documented_variables"} <= rules
    assert code != 0


# --- checkov --------------------------------------------------------------------------------------


def _checkov(checkov: str, folder: Path) -> dict[str, Any]:
    result = _run(
        [checkov, "-d", str(folder), "--framework", "terraform", "-o", "json", "--skip-download"],
        timeout=900,
    )
    report = json.loads(result.stdout)
    return report[0] if isinstance(report, list) else report


def test_checkov_finds_no_failed_check_and_every_skip_says_why(checkov: str) -> None:
    report = _checkov(checkov, TERRAFORM)
    results = report["results"]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in results["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] > 300
    for check in results["skipped_checks"]:
        reason = check["check_result"].get("suppress_comment") or ""
        assert len(reason.split()) >= 5, (check["check_id"], check["resource"])
    # Every skip in the files names a check and gives a reason of some words.
    for path in _tf_files(TERRAFORM):
        for skip in re.findall(r"#\s*checkov:skip=(.*)", path.read_text()):
            check, _, reason = skip.partition(":")
            assert re.fullmatch(r"CKV2?_[A-Z0-9]+_\d+", check), (path, skip)
            assert len(reason.split()) >= 5, (path, skip)


def test_checkov_catches_an_unencrypted_public_database(checkov: str, tmp_path: Path) -> None:
    module = tmp_path / "postgres"
    shutil.copytree(MODULES / "postgres", module)
    main = module / "main.tf"
    broken = re.sub(r"storage_encrypted\s*=\s*true", "storage_encrypted = false", main.read_text())
    main.write_text(re.sub(r"publicly_accessible\s*=\s*false", "publicly_accessible = true", broken))
    failed = {c["check_id"] for c in _checkov(checkov, module)["results"]["failed_checks"]}
    assert {"CKV_AWS_16", "CKV_AWS_17"} <= failed
