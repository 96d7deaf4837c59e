"""Bulk files at rest without BSNs (issue 14 row 11): the staged upload is encrypted with a key
of its own job, and that key is destroyed when the job ends (crypto-shredding).

Why a key per job and not streaming pseudonymisation in the upload request: a 1,000,000-row
file takes minutes to pseudonymise, far longer than an HTTP request may take, and the job
must survive a restart of the worker. The database (its table files, dead rows, TOAST, WAL
and backups) only ever sees ciphertext; the key lives in Redis, which the platform runs
in memory only (no RDB/AOF: devstack/redis.py, and the chart's Redis must be configured the
same way), so deleting it leaves nothing that can open the staged file.

Without SLUIS_REDIS_URL the keys live in this process only: fine for tests and a single
process, but a separate bulk-worker process then cannot read the file and fails the job
(`staging_key_lost`).
"""

import logging
import threading
import uuid
from typing import Any, Protocol

import nacl.exceptions
import nacl.secret
import nacl.utils

log = logging.getLogger("sluis.gateway.staging")

# Long enough for any job (they take minutes); a key of an abandoned job goes by itself.
KEY_TTL_SECONDS = 7 * 24 * 3600
_PREFIX = "sluis:bulk-key:"


class StagingKeys(Protocol):
    def put(self, job_id: uuid.UUID, key: bytes) -> None: ...

    def get(self, job_id: uuid.UUID) -> bytes | None: ...

    def destroy(self, job_id: uuid.UUID) -> None: ...


class LocalStagingKeys:
    """Keys in this process only (no Redis configured)."""

    def __init__(self) -> None:
        self._keys: dict[uuid.UUID, bytes] = {}
        self._lock = threading.Lock()

    def put(self, job_id: uuid.UUID, key: bytes) -> None:
        with self._lock:
            self._keys[job_id] = key

    def get(self, job_id: uuid.UUID) -> bytes | None:
        with self._lock:
            return self._keys.get(job_id)

    def destroy(self, job_id: uuid.UUID) -> None:
        with self._lock:
            self._keys.pop(job_id, None)


class RedisStagingKeys:
    """Keys shared by the upload (gunicorn) and the bulk-worker processes."""

    def __init__(self, url: str) -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)

    def put(self, job_id: uuid.UUID, key: bytes) -> None:
        self.client.set(_PREFIX + str(job_id), key, ex=KEY_TTL_SECONDS)

    def get(self, job_id: uuid.UUID) -> bytes | None:
        value = self.client.get(_PREFIX + str(job_id))
        return None if value is None else bytes(value)

    def destroy(self, job_id: uuid.UUID) -> None:
        self.client.delete(_PREFIX + str(job_id))


def staging_keys(redis_url: str) -> StagingKeys:
    return RedisStagingKeys(redis_url) if redis_url else LocalStagingKeys()


def new_key() -> bytes:
    return nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE)


def seal(key: bytes, content: bytes) -> bytes:
    """Authenticated encryption (XSalsa20-Poly1305, random nonce prepended)."""
    return bytes(nacl.secret.SecretBox(key).encrypt(content))


def unseal(key: bytes, sealed: bytes) -> bytes | None:
    """The staged file, or None when it cannot be opened (wrong or lost key)."""
    try:
        return bytes(nacl.secret.SecretBox(key).decrypt(sealed))
    except nacl.exceptions.CryptoError:
        return None


# Issue 21: an upload is staged as segments of this many bytes (sealed one by one), so neither
# the upload request nor the bulk worker ever holds a whole file of up to 1,000,000 rows.
SEGMENT_BYTES = 1 << 20


def _segment_header(job_id: uuid.UUID, seq: int, last: bool) -> bytes:
    return job_id.bytes + seq.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


_HEADER_BYTES = 21


def seal_segment(key: bytes, job_id: uuid.UUID, seq: int, last: bool, content: bytes) -> bytes:
    """One segment, sealed with its job, place and whether it ends the file inside the
    authenticated box: segments cannot be swapped between jobs, reordered or cut off unseen."""
    return seal(key, _segment_header(job_id, seq, last) + content)


def unseal_segment(key: bytes, job_id: uuid.UUID, seq: int, sealed: bytes) -> tuple[bytes, bool] | None:
    """(content, ends the file) of the segment at `seq` of this job; None when it cannot be
    opened or is not that segment."""
    opened = unseal(key, sealed)
    if opened is None or len(opened) < _HEADER_BYTES:
        return None
    last = opened[_HEADER_BYTES - 1 : _HEADER_BYTES] == b"\x01"
    if opened[:_HEADER_BYTES] != _segment_header(job_id, seq, last):
        return None
    return opened[_HEADER_BYTES:], last
