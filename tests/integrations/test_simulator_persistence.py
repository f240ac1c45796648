"""The provider simulator remembers what it was told across restarts, as a real provider would.

`lendflow simulator` runs as a process of its own on a free port with its state under a temporary
directory; it is killed (-9, mid-settlement) and started again on the same directory, then stopped
the ordinary way and started once more. Each time the same payout, charge, envelope and PIX key
answer, and an idempotent replay returns the first payout instead of making a second.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from stack_support import free_port

from lendflow.settings import Settings

DEFAULTS = Settings()
PIX = {"Authorization": f"Bearer {DEFAULTS.providers.pix.api_key.get_secret_value()}"}
ESIGNATURE = {"Authorization": f"Bearer {DEFAULTS.providers.esignature.api_key.get_secret_value()}"}


class SimulatorProcess:
    def __init__(self, data_dir: Path, port: int, log: Path) -> None:
        self.data_dir, self.port, self.log = data_dir, port, log
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "LENDFLOW_ENVIRONMENT": "test",
            "LENDFLOW_SIMULATOR__PORT": str(self.port),
            "LENDFLOW_SIMULATOR__DATA_DIR": str(self.data_dir),
            "LENDFLOW_SIMULATOR__SETTLEMENT_DELAY_SECONDS": "1.5",
            "LENDFLOW_SIMULATOR__WEBHOOK_MAX_ATTEMPTS": "1",
            # Nobody listens there: this test asks for the objects instead.
            "LENDFLOW_SIMULATOR__WEBHOOK_TARGET_BASE_URL": f"http://127.0.0.1:{free_port()}/v1/webhooks/",
        }
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "lendflow", "simulator"], env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.1)

    def stop(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=20)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[SimulatorProcess]:
    process = SimulatorProcess(tmp_path / "simulator", free_port(), tmp_path / "simulator.log")
    process.start()
    yield process
    if process.process is not None and process.process.poll() is None:
        process.process.kill()
        process.process.wait()


def _payout_body(pix_key: str) -> dict[str, object]:
    return {
        "amount": "1234.56",
        "destination": {"type": "pix_key", "pix_key": pix_key},
        "external_reference": f"loan-{uuid.uuid4()}",
    }


def _until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_payouts_charges_envelopes_and_keys_survive_a_kill_and_a_restart(simulator: SimulatorProcess) -> None:
    http = httpx.Client(base_url=simulator.url, timeout=10)
    pix_key = f"{uuid.uuid4().hex[:12]}@example.com"
    refused_key = f"{uuid.uuid4().hex[:12]}@example.com"
    payout_key = f"loan-{uuid.uuid4()}-disburse"
    body = _payout_body(pix_key)

    assert http.put(f"/_admin/pix/keys/{refused_key}", json={"outcome": "not_found"}).status_code == 200
    created = http.post("/pix/v1/payouts", json=body, headers={**PIX, "Idempotency-Key": payout_key})
    assert created.status_code == 201
    payout = created.json()
    assert payout["status"] == "processing"

    txid = uuid.uuid4().hex  # 32 alphanumerics
    charge = http.put(f"/pix/v2/cob/{txid}", json={"valor": {"original": "150.00"}, "chave": pix_key}, headers=PIX)
    assert charge.status_code == 201, charge.text
    assert http.post(f"/_admin/pix/cob/{txid}/pay").status_code == 200

    envelope_request = {
        "external_reference": f"loan-{uuid.uuid4()}",
        "document": {"name": "ccb.pdf", "content_base64": base64.b64encode(b"%PDF-1.7 contract").decode()},
        "signers": [{"name": "Ana Souza", "email": "ana@example.com"}],
    }
    envelope_key = f"loan-{uuid.uuid4()}-envelope"
    envelope = http.post(
        "/esignature/v1/envelopes", json=envelope_request, headers={**ESIGNATURE, "Idempotency-Key": envelope_key}
    ).json()
    signing_path = httpx.URL(envelope["signers"][0]["signing_url"]).path
    short_lived = http.post(
        "/esignature/v1/envelopes",
        json={**envelope_request, "external_reference": f"loan-{uuid.uuid4()}", "expires_in_seconds": 3},
        headers={**ESIGNATURE, "Idempotency-Key": f"loan-{uuid.uuid4()}-envelope"},
    ).json()

    # Killed while the payout is still processing: nothing gets the chance to be written on the way out.
    simulator.stop(signal.SIGKILL)
    simulator.start()

    again = http.get(f"/pix/v1/payouts/{payout['end_to_end_id']}", headers=PIX)
    assert again.status_code == 200
    assert {k: again.json()[k] for k in ("end_to_end_id", "amount", "idempotency_key", "external_reference")} == {
        k: payout[k] for k in ("end_to_end_id", "amount", "idempotency_key", "external_reference")
    }
    # The settlement the kill interrupted happens after the restart.
    _until(lambda: http.get(f"/pix/v1/payouts/{payout['end_to_end_id']}", headers=PIX).json()["status"] == "settled")

    replay = http.post("/pix/v1/payouts", json=body, headers={**PIX, "Idempotency-Key": payout_key})
    assert replay.status_code == 200
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["end_to_end_id"] == payout["end_to_end_id"]
    listed = http.get("/_admin/pix/payouts", params={"external_reference": body["external_reference"]}).json()
    assert [p["end_to_end_id"] for p in listed] == [payout["end_to_end_id"]]

    # The key's behaviour was kept: a payout to it is still refused.
    refused = http.post(
        "/pix/v1/payouts", json=_payout_body(refused_key), headers={**PIX, "Idempotency-Key": f"k-{uuid.uuid4()}"}
    )
    assert refused.status_code == 422

    cob = http.get(f"/pix/v2/cob/{txid}", headers=PIX).json()
    assert cob["status"] == "CONCLUIDA"
    assert (
        http.get(f"/esignature/v1/envelopes/{envelope['envelope_id']}", headers=ESIGNATURE).json()["status"] == "sent"
    )
    assert http.get(signing_path).status_code == 200
    # The expiry the kill interrupted happens after the restart.
    _until(
        lambda: (
            http.get(f"/esignature/v1/envelopes/{short_lived['envelope_id']}", headers=ESIGNATURE).json()["status"]
            == "expired"
        )
    )
    envelope_replay = http.post(
        "/esignature/v1/envelopes", json=envelope_request, headers={**ESIGNATURE, "Idempotency-Key": envelope_key}
    )
    assert envelope_replay.json()["envelope_id"] == envelope["envelope_id"]

    # Signed after the first restart, then an ordinary stop and start: the signature is kept too.
    assert http.post(signing_path, data={"decision": "sign"}).status_code == 200
    simulator.stop(signal.SIGINT)
    simulator.start()
    kept = http.get(f"/esignature/v1/envelopes/{envelope['envelope_id']}", headers=ESIGNATURE).json()
    assert kept["status"] == "signed"
    assert http.get(f"/pix/v1/payouts/{payout['end_to_end_id']}", headers=PIX).json()["status"] == "settled"
    assert (
        http.post("/pix/v1/payouts", json=body, headers={**PIX, "Idempotency-Key": payout_key}).json()["end_to_end_id"]
        == payout["end_to_end_id"]
    )


def test_reset_forgets_the_kept_state(simulator: SimulatorProcess) -> None:
    http = httpx.Client(base_url=simulator.url, timeout=10)
    payout_key = f"loan-{uuid.uuid4()}-disburse"
    body = _payout_body(f"{uuid.uuid4().hex[:12]}@example.com")
    first = http.post("/pix/v1/payouts", json=body, headers={**PIX, "Idempotency-Key": payout_key}).json()

    assert http.post("/_admin/reset").status_code == 204
    simulator.stop(signal.SIGINT)
    simulator.start()

    assert http.get(f"/pix/v1/payouts/{first['end_to_end_id']}", headers=PIX).status_code == 404
    fresh = http.post("/pix/v1/payouts", json=body, headers={**PIX, "Idempotency-Key": payout_key})
    assert fresh.status_code == 201 and fresh.json()["end_to_end_id"] != first["end_to_end_id"]
