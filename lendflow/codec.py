"""Encryption of Temporal payloads (LGPD): CPFs, names and incomes never rest in Temporal in clear.

Every payload the project's data converter writes is encrypted with AES-256-GCM under the active
key; the key id travels in the payload's metadata so older keys keep decrypting after a rotation.
Payloads that were never encrypted (written before the codec existed) pass through unchanged, so
old histories still replay. Search attributes are not payloads: ops keep filtering on them.

The Temporal UI shows decoded payloads by calling the codec endpoint of the API
(`/codec/decode`), which only authorised ops may call.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class UnknownEncryptionKey(ValueError):
    """A payload was encrypted with a key this process does not hold."""


def decode_key(value: str) -> bytes:
    key = base64.b64decode(value)
    if len(key) != 32:
        raise ValueError("a payload encryption key is 32 bytes, base64-encoded")
    return key


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes], active_key_id: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"the active key {active_key_id!r} is not among the keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active_key_id

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decrypt(p) for p in payloads]

    def _encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self._active.encode()
        sealed = self._ciphers[self._active].encrypt(nonce, payload.SerializeToString(), key_id)
        return Payload(metadata={"encoding": ENCODING, KEY_ID: key_id}, data=nonce + sealed)

    def _decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"")
        cipher = self._ciphers.get(key_id.decode())
        if cipher is None:
            raise UnknownEncryptionKey(f"no key {key_id.decode()!r} to decrypt this payload")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        decoded = Payload()
        decoded.ParseFromString(cipher.decrypt(nonce, sealed, key_id))
        return decoded
