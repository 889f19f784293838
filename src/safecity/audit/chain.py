"""Pure hashing and signing of audit records; no database access here."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from safecity.core.clock import as_utc

HASHED_FIELDS = (
    "seq",
    "at",
    "actor_id",
    "actor_name",
    "action",
    "object_type",
    "object_id",
    "district",
    "summary",
    "before",
    "after",
    "request_id",
    "purpose",
    "source_ip",
    "prev_hash",
)


def json_safe(value: Any) -> Any:
    """The value as it will read back from a JSON column (so hashes survive a round trip)."""
    return json.loads(json.dumps(value, default=str, sort_keys=True))


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def record_hash(fields: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of the hashed fields, which include the previous hash."""
    body = {name: _canonical(fields[name]) for name in HASHED_FIELDS}
    encoded = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


def checkpoint_message(seq: int, chain_hash: str) -> bytes:
    return f"safecity-audit-checkpoint:{seq}:{chain_hash}".encode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def sign_checkpoint(key: Ed25519PrivateKey, seq: int, chain_hash: str) -> str:
    return key.sign(checkpoint_message(seq, chain_hash)).hex()


def signature_valid(public_key: Ed25519PublicKey, seq: int, chain_hash: str, sig: str) -> bool:
    try:
        public_key.verify(bytes.fromhex(sig), checkpoint_message(seq, chain_hash))
    except (InvalidSignature, ValueError):
        return False
    return True
