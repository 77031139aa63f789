"""Blob storage behind one small interface: files on local disk, or an S3-compatible object store.

Keys are relative POSIX paths such as "incoming/3f2a.bin" or "photos/12/34.jpg".
Which store the portal uses is configuration: STORAGE_URL names an object
store (`s3://bucket?endpoint=…`, see from_url); without it, files live under
STORAGE_ROOT on the node's own disk (the embedded default, one node only).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import parse_qsl, unquote, urlsplit


@runtime_checkable
class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """Return the stored bytes; raise KeyError when the key is missing."""
        ...

    def delete(self, key: str) -> None:
        """Remove the key; no error when it is missing."""
        ...

    def exists(self, key: str) -> bool: ...


class StorageError(RuntimeError):
    """The store is unreachable, too slow or refused the request (a missing key is a KeyError instead)."""


class StorageConfigError(ValueError):
    """STORAGE_URL cannot be used; the message says what is wrong."""


def check_key(key: str) -> str:
    """The key itself when it is a safe relative path; ValueError otherwise (the same rule for every store)."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key or ".." in key or "\x00" in key:
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class LocalStorage:
    """Files under a root folder, written atomically."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # Also catches a symlink inside the root that points outside it.
        if path == self.root or not path.is_relative_to(self.root):
            raise ValueError(f"invalid storage key: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Write data under key, replacing any previous value atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; match ordinary files
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """Return the bytes stored under key; KeyError when missing."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        """Remove key if present."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether a value is stored under key."""
        return self._path(key).is_file()


# S3 error codes that mean "no such object" (HEAD answers with the bare status).
_MISSING = {"NoSuchKey", "404", "NotFound"}
# ...and the ones that mean the keys or their rights are wrong.
_REFUSED = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "InvalidToken", "ExpiredToken"}


class S3Storage:
    """Objects in a bucket of an S3-compatible store (AWS S3, SeaweedFS, MinIO, Ceph, Swift s3api…), via boto3.

    Every call has a connect and a read timeout and a bounded number of
    attempts, so a store that hangs fails a request with StorageError
    instead of holding a web worker. The client is made per process (lazily),
    so a forked worker never shares the parent's connections.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        addressing: str = "path",
        connect_timeout: float = 2.0,
        read_timeout: float = 10.0,
        attempts: int = 3,
    ):
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint_url = endpoint_url
        self.region = region
        self._credentials = (access_key, secret_key)
        self.addressing = addressing
        self.connect_timeout, self.read_timeout, self.attempts = connect_timeout, read_timeout, attempts
        self._client = None
        self._client_pid = None

    def __repr__(self) -> str:  # never the keys
        return f"S3Storage(bucket={self.bucket!r}, prefix={self.prefix!r}, endpoint_url={self.endpoint_url!r})"

    @property
    def client(self):
        """The boto3 client of this process."""
        if self._client is None or self._client_pid != os.getpid():
            import boto3
            from botocore.config import Config

            access_key, secret_key = self._credentials
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.endpoint_url,
                region_name=self.region,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=Config(
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                    retries={"total_max_attempts": self.attempts, "mode": "standard"},
                    s3={"addressing_style": self.addressing},
                    # Checksums only where S3 requires them: other stores differ in what they accept.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                ),
            )
            self._client_pid = os.getpid()
        return self._client

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _failed(self, exc: Exception, action: str, key: str) -> StorageError:
        """A StorageError that says what failed and why, in words an operator can act on (never the keys)."""
        from botocore.exceptions import ClientError, NoCredentialsError, PartialCredentialsError

        where = f"{action} {key!r} in bucket {self.bucket!r} at {self.endpoint_url or 'AWS S3'}"
        if isinstance(exc, ClientError):
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _REFUSED:
                return StorageError(
                    f"object store refused to {where}: {code} (check S3_ACCESS_KEY / S3_SECRET_KEY and the bucket's "
                    "permissions)"
                )
            if code == "NoSuchBucket":
                return StorageError(f"object store cannot {where}: the bucket does not exist (flask storage check)")
            return StorageError(f"object store failed to {where}: {code or exc}")
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return StorageError(f"object store cannot {where}: no credentials (set S3_ACCESS_KEY and S3_SECRET_KEY)")
        return StorageError(f"object store unreachable to {where}: {exc}")

    def put(self, key: str, data: bytes) -> None:
        """Store data under key (an object is replaced whole: readers see the old or the new value)."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self._name(key)
        try:
            self.client.put_object(Bucket=self.bucket, Key=name, Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc, "write", key) from exc

    def get(self, key: str) -> bytes:
        """Return the bytes stored under key; KeyError when missing."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self._name(key)
        try:
            return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise KeyError(key) from None
            raise self._failed(exc, "read", key) from exc
        except BotoCoreError as exc:
            raise self._failed(exc, "read", key) from exc

    def delete(self, key: str) -> None:
        """Remove key if present."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self._name(key)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc, "delete", key) from exc

    def exists(self, key: str) -> bool:
        """Whether a value is stored under key (the keys need list rights, or S3 answers 403 for a missing one)."""
        from botocore.exceptions import BotoCoreError, ClientError

        name = self._name(key)
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise self._failed(exc, "look up", key) from exc
        except BotoCoreError as exc:
            raise self._failed(exc, "look up", key) from exc

    def ensure_bucket(self) -> bool:
        """Create the bucket when it does not exist; True when it was created."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
            return False
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket", "NotFound"}:
                raise self._failed(exc, "find", "(the bucket)") from exc
        except BotoCoreError as exc:
            raise self._failed(exc, "find", "(the bucket)") from exc
        try:
            if self.region and self.region != "us-east-1":
                self.client.create_bucket(
                    Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": self.region}
                )
            else:
                self.client.create_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise self._failed(exc, "create", "(the bucket)") from exc
        return True


_S3_OPTIONS = {"endpoint", "region", "addressing", "connect_timeout", "read_timeout", "attempts"}


def from_url(url: str, access_key: str | None = None, secret_key: str | None = None) -> S3Storage:
    """An S3Storage from STORAGE_URL; StorageConfigError naming the problem when it cannot be used.

    `s3://[ACCESS:SECRET@]bucket[/prefix]?endpoint=http://127.0.0.1:8333&region=us-east-1`
    with optional `addressing=path|virtual` (default path), `connect_timeout` and
    `read_timeout` (seconds, default 2 and 10) and `attempts` (default 3, the
    first try included). Keys given as arguments (S3_ACCESS_KEY, S3_SECRET_KEY)
    win over those in the URL; with none, boto3 looks for its own (AWS_ACCESS_KEY_ID,
    an instance role…).
    """
    parts = urlsplit(url.strip())
    if parts.scheme != "s3":
        raise StorageConfigError(f"STORAGE_URL must start with s3:// (got {parts.scheme or 'no'} scheme)")
    bucket = parts.hostname
    if not bucket:
        raise StorageConfigError("STORAGE_URL names no bucket: s3://BUCKET?endpoint=…")
    try:
        query = dict(parse_qsl(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)))
    except ValueError:
        raise StorageConfigError(f"STORAGE_URL has an unreadable query string: {parts.query!r}") from None
    unknown = sorted(set(query) - _S3_OPTIONS)
    if unknown:
        raise StorageConfigError(f"STORAGE_URL has unknown options {unknown}; known: {sorted(_S3_OPTIONS)}")
    endpoint = query.get("endpoint") or None
    if endpoint:
        ep = urlsplit(endpoint)
        if ep.scheme not in ("http", "https") or not ep.netloc:
            raise StorageConfigError(f"STORAGE_URL's endpoint must be an http(s):// address (got {endpoint!r})")
    addressing = query.get("addressing", "path")
    if addressing not in ("path", "virtual"):
        raise StorageConfigError("STORAGE_URL's addressing must be path or virtual")
    access_key = access_key or (unquote(parts.username) if parts.username else None)
    secret_key = secret_key or (unquote(parts.password) if parts.password else None)
    if bool(access_key) != bool(secret_key):
        raise StorageConfigError("give both S3_ACCESS_KEY and S3_SECRET_KEY (or neither, for boto3's own lookup)")
    try:
        connect_timeout = float(query.get("connect_timeout", 2))
        read_timeout = float(query.get("read_timeout", 10))
        attempts = int(query.get("attempts", 3))
    except ValueError:
        raise StorageConfigError("STORAGE_URL's connect_timeout, read_timeout and attempts must be numbers") from None
    if not (0 < connect_timeout < math.inf and 0 < read_timeout < math.inf and 1 <= attempts <= 10):
        raise StorageConfigError("STORAGE_URL's timeouts must be above 0 s, and attempts from 1 to 10")
    return S3Storage(
        bucket,
        prefix=unquote(parts.path),
        endpoint_url=endpoint,
        region=query.get("region") or None,
        access_key=access_key,
        secret_key=secret_key,
        addressing=addressing,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        attempts=attempts,
    )


def init_app(app) -> None:
    """Put the configured store in app.extensions["storage"]: STORAGE_URL's object store, else a LocalStorage.

    The LocalStorage is at STORAGE_ROOT (default: <instance folder>/storage).
    """
    url = app.config.get("STORAGE_URL")
    if url:
        from app.config import ConfigError

        try:
            store = from_url(url, app.config.get("S3_ACCESS_KEY"), app.config.get("S3_SECRET_KEY"))
        except StorageConfigError as exc:
            raise ConfigError(str(exc)) from None
        app.extensions["storage"] = store
        return
    root = app.config.get("STORAGE_ROOT") or os.path.join(app.instance_path, "storage")
    app.extensions["storage"] = LocalStorage(root)


def current_storage() -> Storage:
    """The storage of the current Flask app."""
    from flask import current_app  # here, so this module stays usable without Flask

    return current_app.extensions["storage"]
