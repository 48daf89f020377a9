"""The object store's contract on the (versioned) data bucket, asserted alike of the fake and of S3 (moto)."""

import hashlib
import io

import pytest

from gtchain.adapters.s3_streaming import S3StreamingObjectStore
from tests.contract.conftest import ObjectsHarness


def test_each_put_is_a_new_version_and_head_reads_the_latest_or_the_one_asked_for(object_store: ObjectsHarness) -> None:
    o, bucket = object_store.objects, object_store.bucket
    o.put(bucket, "chains/birds/chain.json", b'{"v": 1}', "application/json")
    first = o.head(bucket, "chains/birds/chain.json")
    o.put(bucket, "chains/birds/chain.json", b'{"v": 22}', "application/json")
    latest = o.head(bucket, "chains/birds/chain.json")

    assert first is not None and latest is not None and first.version != latest.version
    assert (latest.key, latest.etag, latest.size) == (
        "chains/birds/chain.json", hashlib.md5(b'{"v": 22}', usedforsecurity=False).hexdigest(), 9,
    )  # fmt: skip
    again = o.head(bucket, "chains/birds/chain.json", first.version)
    assert again is not None and (again.version, again.size) == (first.version, 8)
    assert o.get_bytes(bucket, "chains/birds/chain.json", first.version) == b'{"v": 1}'
    assert o.get_bytes(bucket, "chains/birds/chain.json") == b'{"v": 22}'


def test_a_missing_object_or_version_is_not_found(object_store: ObjectsHarness) -> None:
    o, bucket = object_store.objects, object_store.bucket
    assert o.head(bucket, "chains/birds/nothing.json") is None
    o.put(bucket, "chains/birds/chain.json", b"{}", "application/json")
    assert o.head(bucket, "chains/birds/chain.json", "3sL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY") is None
    with pytest.raises(Exception):  # noqa: B017 (each side raises its own not-found error)
        o.get_bytes(bucket, "chains/birds/nothing.json")


def test_lines_keep_their_endings_as_botocore_streams_them(object_store: ObjectsHarness) -> None:
    o, bucket = object_store.objects, object_store.bucket
    o.put(bucket, "m.manifest", b'{"a": 1}\n{"b": 2}\r\n{"c": 3}\r{"d": 4}', "application/x-ndjson")
    assert list(o.iter_lines(bucket, "m.manifest")) == [b'{"a": 1}\n', b'{"b": 2}\r\n', b'{"c": 3}\r', b'{"d": 4}']
    first = o.head(bucket, "m.manifest")
    o.put(bucket, "m.manifest", b"new\n", "application/x-ndjson")
    assert first is not None and len(list(o.iter_lines(bucket, "m.manifest", first.version))) == 4


def test_put_if_absent_writes_only_the_first(object_store: ObjectsHarness) -> None:
    o, bucket = object_store.objects, object_store.bucket
    assert o.put_if_absent(bucket, "chains/birds/errors/x.json", b"first", "application/json")
    assert not o.put_if_absent(bucket, "chains/birds/errors/x.json", b"second", "application/json")
    assert o.get_bytes(bucket, "chains/birds/errors/x.json") == b"first"


def test_an_upload_from_a_stream_is_one_object(object_store: ObjectsHarness) -> None:
    o, bucket = object_store.objects, object_store.bucket
    body = b"".join(b'{"source-ref": "s3://b/%05d.jpg"}\n' % i for i in range(2000))
    o.upload(bucket, "chains/birds/parts/p.manifest", io.BytesIO(body), "application/x-ndjson")
    info = o.head(bucket, "chains/birds/parts/p.manifest")
    assert info is not None and info.size == len(body) and o.get_bytes(bucket, "chains/birds/parts/p.manifest") == body


def test_listings_come_in_key_order_with_etags_for_versions_and_folders_one_level_down(
    object_store: ObjectsHarness,
) -> None:
    o, bucket = object_store.objects, object_store.bucket
    for key in ("chains/birds/inbox/b.manifest", "chains/birds/inbox/a b+1 100%.manifest",
                "chains/birds/inbox/sub/c.manifest", "chains/birds/chain.json", "chains/cats/inbox/x.manifest",
                "chains/birds/reports/job-1/summary.json", "chains/birds/reports/job-2/summary.json"):  # fmt: skip
        o.put(bucket, key, key.encode(), "text/plain")
    o.put(bucket, "chains/birds/inbox/b.manifest", b"latest", "text/plain")

    listed = list(o.list_objects(bucket, "chains/birds/inbox/"))
    assert [i.key for i in listed] == [
        "chains/birds/inbox/a b+1 100%.manifest", "chains/birds/inbox/b.manifest", "chains/birds/inbox/sub/c.manifest",
    ]  # fmt: skip
    b_manifest = listed[1]
    assert (b_manifest.size, b_manifest.etag) == (6, hashlib.md5(b"latest", usedforsecurity=False).hexdigest())
    assert b_manifest.version == b_manifest.etag  # a listing names no version id
    assert list(o.list_prefixes(bucket, "chains/birds/reports/")) == [
        "chains/birds/reports/job-1/", "chains/birds/reports/job-2/",
    ]  # fmt: skip
    assert list(o.list_prefixes(bucket, "chains/birds/inbox/")) == ["chains/birds/inbox/sub/"]
    assert list(o.list_objects(bucket, "chains/dogs/")) == []


def test_keys_with_spaces_plus_percent_and_accents_round_trip(object_store: ObjectsHarness) -> None:
    o, bucket = object_store.objects, object_store.bucket
    key = "chains/birds/inbox/my batch+1 100% é.manifest"
    o.put(bucket, key, b"x\n", "text/plain")
    info = o.head(bucket, key)
    assert info is not None and info.key == key and o.get_bytes(bucket, key) == b"x\n"
    assert o.head(bucket, key.replace(" ", "+")) is None  # an encoded key names another object


def test_chunks_make_up_the_whole_object(object_store: ObjectsHarness) -> None:
    o, bucket = object_store.objects, object_store.bucket
    streaming = o if object_store.side == "fake" else S3StreamingObjectStore(o.client)
    body = b"[" + b",".join(b'{"n": %d}' % i for i in range(500)) + b"]"
    o.put(bucket, "chains/birds/jobs/j/response.json", body, "application/json")
    chunks = list(streaming.iter_chunks(bucket, "chains/birds/jobs/j/response.json", chunk_size=100))
    assert b"".join(chunks) == body and len(chunks) > 1
