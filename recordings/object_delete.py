"""Deleting a batch of recordings' objects from the recordings store, for the retention sweep.

An S3-compatible store gets one `DeleteObjects` request per batch (up to 1,000 keys), and says key by key
what it deleted; local files are removed one by one. Either way the answer is a `DeleteOutcome`: the keys
the store reports gone (only those may be marked deleted), the keys it refused with why, or, when the
store could not be reached at all, why not, so that the sweep stops and leaves everything to its next run.

Deleters are called from the sweep's worker threads, several batches in flight at once; they never touch
the database. The S3 client is shared by those threads (boto3's clients are thread-safe), so each batch
reuses a pooled connection instead of opening one per thread.

Leans on django-storages' `S3Storage._normalize_name` (its `location` prefix), as `recording_read` does,
and names keys as its `S3Storage.delete` does (`clean_name`)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import FileSystemStorage, Storage
from storages.utils import clean_name

S3_MAX_KEYS_PER_REQUEST = 1000


@dataclass
class DeleteOutcome:
    deleted: set[str] = field(default_factory=set)  # keys the store reports gone (or never there)
    refused: dict[str, str] = field(default_factory=dict)  # key -> the store's reason
    unreachable: str = ""  # the store could not be asked at all: nothing in the batch is known deleted


class BatchDeleter(Protocol):
    store: str  # where the objects were, as a receipt names it

    def delete(self, keys: list[str]) -> DeleteOutcome: ...


class S3BatchDeleter:
    """`DeleteObjects` with every key of the batch; S3 answers which it deleted and which it could not."""

    def __init__(self, storage: Storage):
        self._client = storage.connection.meta.client
        self._bucket = storage.bucket_name
        self._normalize = storage._normalize_name
        location = getattr(storage, "location", "") or ""
        self.store = f"s3://{self._bucket}/{location}".rstrip("/")

    def delete(self, keys: list[str]) -> DeleteOutcome:
        if len(keys) > S3_MAX_KEYS_PER_REQUEST:
            raise ValueError(f"DeleteObjects takes at most {S3_MAX_KEYS_PER_REQUEST} keys, not {len(keys)}")
        if not keys:
            return DeleteOutcome()
        ours = {self._normalize(clean_name(key)): key for key in keys}  # as S3Storage.delete names it
        try:
            answer = self._client.delete_objects(
                Bucket=self._bucket,
                Delete={"Objects": [{"Key": name} for name in ours], "Quiet": False},
            )
        except (BotoCoreError, ClientError) as exc:
            return DeleteOutcome(unreachable=f"{type(exc).__name__}: {exc}"[:300])
        outcome = DeleteOutcome()
        for gone in answer.get("Deleted", []):
            if (key := ours.get(gone.get("Key", ""))) is not None:
                outcome.deleted.add(key)
        for error in answer.get("Errors", []):
            key = ours.get(error.get("Key", ""), error.get("Key", "?"))
            outcome.refused[key] = f"{error.get('Code', 'Error')}: {error.get('Message', '')}".strip()[:300]
        outcome.deleted -= outcome.refused.keys()
        return outcome


class FileBatchDeleter:
    """Any other storage, one `storage.delete` per key (local files: an unlink each). A local folder that is
    missing altogether (an unmounted volume) is an unreachable store, not a batch of files already gone."""

    def __init__(self, storage: Storage):
        self._storage = storage
        self._root = Path(storage.location) if isinstance(storage, FileSystemStorage) else None
        self.store = str(self._root) if self._root is not None else type(storage).__name__

    def delete(self, keys: list[str]) -> DeleteOutcome:
        if self._root is not None and not self._root.is_dir():
            return DeleteOutcome(unreachable=f"the recordings folder {self._root} is missing")
        outcome = DeleteOutcome()
        for key in keys:
            try:
                self._storage.delete(key)  # a file already gone is not an error (FileSystemStorage)
            except (OSError, BotoCoreError, ClientError) as exc:
                outcome.refused[key] = f"{type(exc).__name__}: {exc}"[:300]
            else:
                outcome.deleted.add(key)
        return outcome


def batch_deleter_for(storage: Storage) -> BatchDeleter:
    with contextlib.suppress(AttributeError):
        if storage.bucket_name and hasattr(storage, "connection"):  # django-storages S3
            return S3BatchDeleter(storage)
    return FileBatchDeleter(storage)
