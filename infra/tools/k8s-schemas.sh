#!/usr/bin/env bash
# Generates strict kubeconform schemas into <repo>/.run/schemas (cached): every kind of Kubernetes
# $K8S_VERSION from the swagger.json inside the Go module k8s.io/kubernetes, and the custom resources the
# chart uses from Karpenter's and KEDA's CRDs (their Go modules), with infra/tools/k8s_schemas.py.
# Prints nothing on success; fails with what went wrong. Layouts: see k8s_schemas.py.
set -euo pipefail
K8S_VERSION=1.33.13
# The newest Karpenter release whose go.mod this machine's Go (1.26.8, GOTOOLCHAIN=local) accepts.
KARPENTER_VERSION=v1.14.1
KEDA_VERSION=v2.21.0
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="$ROOT/.run/schemas"
CONVERTER="$ROOT/infra/tools/k8s_schemas.py"
KEY="k8s-$K8S_VERSION karpenter-$KARPENTER_VERSION keda-$KEDA_VERSION converter-$(sha256sum "$CONVERTER" | cut -c1-16)"
if [[ -f "$OUT/.generated" && "$(cat "$OUT/.generated")" == "$KEY" ]]; then
  exit 0
fi
PYTHON="$ROOT/.venv/bin/python"
[[ -x "$PYTHON" ]] || PYTHON=python3

module_dir() {  # the module's folder in the Go module cache, downloaded through the module proxy when missing
  local json
  if ! json=$(go mod download -json "$1" 2>&1); then
    echo "go mod download $1 failed: $json" >&2
    return 1
  fi
  "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["Dir"])' <<<"$json"
}

K8S_DIR=$(module_dir "k8s.io/kubernetes@v$K8S_VERSION")
KARPENTER_DIR=$(module_dir "github.com/aws/karpenter-provider-aws@$KARPENTER_VERSION")
KEDA_DIR=$(module_dir "github.com/kedacore/keda/v2@$KEDA_VERSION")

TMP="$OUT.tmp.$$"
trap 'rm -rf "$TMP"' EXIT
rm -rf "$TMP"
"$PYTHON" "$CONVERTER" \
  --swagger "$K8S_DIR/api/openapi-spec/swagger.json" \
  --crds "$KARPENTER_DIR/pkg/apis/crds" "$KEDA_DIR/config/crd/bases" \
  --kubernetes-version "$K8S_VERSION" --out "$TMP"
echo "$KEY" >"$TMP/.generated"
rm -rf "$OUT"
mv "$TMP" "$OUT"
