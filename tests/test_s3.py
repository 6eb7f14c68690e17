"""serving.s3 against a real S3 endpoint (moto_server): round trips and the one-line errors."""

from __future__ import annotations

import json

import boto3
import pytest

from serving import s3
from serving.testing import free_port
from tests.conftest import new_bucket


@pytest.fixture
def bucket(s3_server) -> str:
    return new_bucket()


def test_round_trip_listing_and_delete(bucket, tmp_path):
    s3.write_bytes(f"{bucket}/a/one.txt", b"1")
    (tmp_path / "two.bin").write_bytes(b"22")
    s3.upload(tmp_path / "two.bin", f"{bucket}/a/b/two.bin")
    s3.download(f"{bucket}/a/b/two.bin", tmp_path / "copy" / "two.bin")
    assert (tmp_path / "copy" / "two.bin").read_bytes() == b"22"
    assert [(o.uri, o.size) for o in s3.listing(f"{bucket}/a/")] == [
        (f"{bucket}/a/b/two.bin", 2),
        (f"{bucket}/a/one.txt", 1),
    ]
    assert s3.head(f"{bucket}/a/one.txt").size == 1
    assert s3.head(f"{bucket}/a/none") is None
    assert s3.delete_prefix(f"{bucket}/a/") == 2
    assert s3.listing(f"{bucket}/") == []


def test_missing_key_and_bucket(bucket):
    with pytest.raises(s3.StorageError) as e:
        s3.read_bytes(f"{bucket}/dir/x.json")
    assert str(e.value) == f"{bucket}/dir/x.json: no such key dir/x.json in bucket {bucket[5:]}"
    for call in (s3.read_bytes, s3.listing, s3.head, lambda uri: s3.write_bytes(uri, b"")):
        with pytest.raises(s3.StorageError) as e:
            call("s3://no-such-bucket-rs/k")
        assert str(e.value) == "s3://no-such-bucket-rs/k: bucket no-such-bucket-rs does not exist"


def test_access_denied_and_refused_credentials(bucket, s3_server, monkeypatch):
    """moto checks credentials and IAM policies once asked to (``/moto-api/reset-auth``): a user allowed only
    to read is denied a write; an unknown access key is refused."""
    s3.write_bytes(f"{bucket}/k", b"x")
    iam = boto3.client("iam")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    policy = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"arn:aws:s3:::{bucket[5:]}/*"}]}  # fmt: skip
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(policy))
    s3_server.require_auth()
    try:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        assert s3.read_bytes(f"{bucket}/k") == b"x"
        with pytest.raises(s3.StorageError) as e:
            s3.write_bytes(f"{bucket}/k2", b"y")
        assert str(e.value) == (f"{bucket}/k2: access denied to write it (AccessDenied: Access Denied); "
                                "check the permissions of the credentials")  # fmt: skip
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWN000000000")
        with pytest.raises(s3.StorageError) as e:
            s3.read_bytes(f"{bucket}/k")
        assert str(e.value) == (
            f"{bucket}/k: the credentials were refused (InvalidAccessKeyId: The AWS Access Key Id you provided "
            "does not exist in our records.); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        )
    finally:
        s3_server.require_auth(float("inf"))


def test_no_credentials(bucket, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    with pytest.raises(s3.StorageError) as e:
        s3.read_bytes(f"{bucket}/k")
    assert str(e.value) == (f"{bucket}/k: no AWS credentials found to read it; "
                            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE")  # fmt: skip


def test_unreachable_endpoint(s3_server, monkeypatch):
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    with pytest.raises(s3.StorageError) as e:
        s3.read_bytes("s3://bucket/k")
    assert str(e.value) == (f"s3://bucket/k: cannot reach the S3 endpoint {url}/bucket/k "
                            "(is it running? set AWS_ENDPOINT_URL for MinIO or moto)")  # fmt: skip
