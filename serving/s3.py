"""Objects in S3 or an S3-compatible server (MinIO, moto): ``s3://`` workdirs, bootstrap inputs and models.

The jobs (bootstrap, train, upload, update) and the API both read and write through this module, so it lives
on the floor both may import. Credentials come from boto3's standard chain (``AWS_ACCESS_KEY_ID`` /
``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``, web identity, instance roles); the endpoint from
``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` (AWS when neither is set), addressed path-style when set.
Every failure is a ``StorageError`` that names the object and what was missing or denied, in one line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

SCHEME = "s3://"
CREDENTIALS = "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
_MISSING = ("NoSuchKey", "404", "NotFound")
_DENIED = ("AccessDenied", "403", "AllAccessDisabled")
_BAD_KEY = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "ExpiredToken")


class StorageError(ValueError):
    """An S3 object or bucket that cannot be used; the message names it and says what to fix."""


@dataclass(frozen=True)
class ObjectInfo:
    uri: str
    size: int
    modified: float
    """Seconds since the epoch."""


def is_s3(path: str | os.PathLike) -> bool:
    return str(path).startswith(SCHEME)


def split(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``."""
    bucket, _, key = uri.removeprefix(SCHEME).partition("/")
    return bucket, key


def join(uri: str, *names: str) -> str:
    return "/".join([uri.rstrip("/"), *(n.strip("/") for n in names)])


def endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def client():
    """A boto3 S3 client for the current environment (cached per endpoint, profile and access key)."""
    return _client(endpoint(), os.environ.get("AWS_PROFILE"), os.environ.get("AWS_ACCESS_KEY_ID"))


@functools.cache
def _client(url: str | None, profile: str | None, _key: str | None):
    addressing = {"addressing_style": "path"} if url else {}
    config = BotoConfig(s3=addressing, connect_timeout=5, read_timeout=60,
                        retries={"max_attempts": 3, "mode": "standard"})  # fmt: skip
    return boto3.session.Session(profile_name=profile).client("s3", endpoint_url=url, config=config)


def credentials() -> tuple[str, str, str | None] | None:
    """(access key, secret key, session token) as boto3 resolves them, or None when there are none."""
    found = boto3.session.Session(profile_name=os.environ.get("AWS_PROFILE")).get_credentials()
    if found is None:
        return None
    frozen = found.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


@contextmanager
def _errors(uri: str, action: str) -> Iterator[None]:
    """Turn boto3's exceptions into one ``StorageError`` line about ``uri``."""
    try:
        yield
    except ClientError as e:
        raise StorageError(_client_error(uri, action, e)) from None
    except S3UploadFailedError as e:  # upload_file wraps the ClientError
        cause = e.__cause__ or e.__context__
        raise StorageError(
            _client_error(uri, action, cause) if isinstance(cause, ClientError) else f"{uri}: {e}"
        ) from None
    except NoCredentialsError:
        raise StorageError(f"{uri}: no AWS credentials found to {action} it; {CREDENTIALS}") from None
    except EndpointConnectionError as e:
        raise StorageError(f"{uri}: cannot reach the S3 endpoint {e.kwargs.get('endpoint_url', endpoint())} "
                           "(is it running? set AWS_ENDPOINT_URL for MinIO or moto)") from None  # fmt: skip
    except BotoCoreError as e:
        raise StorageError(f"{uri}: cannot {action} it ({e})") from None


def _client_error(uri: str, action: str, error: ClientError) -> str:
    code = _code(error)
    message = error.response.get("Error", {}).get("Message") or code
    bucket, key = split(uri)
    if code == "NoSuchBucket" or (code in _MISSING and _bucket_missing(bucket)):
        return f"{uri}: bucket {bucket} does not exist"
    if code in _MISSING:
        return f"{uri}: no such key {key} in bucket {bucket}"
    if code in _DENIED:
        return f"{uri}: access denied to {action} it ({code}: {message}); check the permissions of the credentials"
    if code in _BAD_KEY:
        return f"{uri}: the credentials were refused ({code}: {message}); {CREDENTIALS}"
    return f"{uri}: cannot {action} it ({code}: {message})"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _bucket_missing(bucket: str) -> bool:
    try:
        client().head_bucket(Bucket=bucket)
    except ClientError as e:
        return _code(e) in ("404", "NoSuchBucket")
    except BotoCoreError:
        return False
    return False


def read_bytes(uri: str) -> bytes:
    bucket, key = split(uri)
    with _errors(uri, "read"):
        return client().get_object(Bucket=bucket, Key=key)["Body"].read()


def write_bytes(uri: str, data: bytes) -> None:
    bucket, key = split(uri)
    with _errors(uri, "write"):
        client().put_object(Bucket=bucket, Key=key, Body=data)


def upload(path: Path, uri: str) -> None:
    """A local file to ``uri`` (multipart when large)."""
    bucket, key = split(uri)
    with _errors(uri, "write"):
        client().upload_file(str(path), bucket, key)


def download(uri: str, path: Path) -> None:
    """``uri`` to a local file, written under a temporary name and renamed: never a partial file at ``path``."""
    bucket, key = split(uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    with _errors(uri, "read"):
        client().download_file(bucket, key, str(partial))
    os.replace(partial, path)


def head(uri: str) -> ObjectInfo | None:
    """The object's size and time, or None when there is no such key (a missing bucket is an error)."""
    bucket, key = split(uri)
    with _errors(uri, "read"):
        try:
            meta = client().head_object(Bucket=bucket, Key=key)
        except ClientError as e:
            if _code(e) in _MISSING and not _bucket_missing(bucket):
                return None
            raise
        return ObjectInfo(uri, meta["ContentLength"], meta["LastModified"].timestamp())


def listing(prefix: str) -> list[ObjectInfo]:
    """Every object whose URI starts with ``prefix``, in key order."""
    bucket, key = split(prefix)
    found = []
    with _errors(prefix, "list"):
        for page in client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=key):
            found += [ObjectInfo(f"{SCHEME}{bucket}/{o['Key']}", o["Size"], o["LastModified"].timestamp())
                      for o in page.get("Contents", [])]  # fmt: skip
    return found


def delete(uri: str) -> None:
    bucket, key = split(uri)
    with _errors(uri, "delete"):
        client().delete_object(Bucket=bucket, Key=key)


def delete_prefix(prefix: str) -> int:
    """Delete every object under ``prefix`` (a "directory": ``prefix`` should end with ``/``); returns how many."""
    bucket, _ = split(prefix)
    keys = [split(o.uri)[1] for o in listing(prefix)]
    with _errors(prefix, "delete"):
        for i in range(0, len(keys), 1000):
            client().delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]}
            )
    return len(keys)
