"""The object store on S3."""

from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from botocore.exceptions import ClientError

from gtchain.adapters import clients
from gtchain.adapters.errors import error_code
from gtchain.service.ports import ObjectInfo

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

_MISSING = {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}


class S3ObjectStore:
    def __init__(self, client: "S3Client | None" = None) -> None:
        self._client = client

    @property
    def client(self) -> "S3Client":
        return self._client or clients.s3()

    def head(self, bucket: str, key: str, version: str | None = None) -> ObjectInfo | None:
        try:
            if version:
                response = self.client.head_object(Bucket=bucket, Key=key, VersionId=version)
            else:
                response = self.client.head_object(Bucket=bucket, Key=key)
        except ClientError as exc:
            # A version id of the wrong shape for the key is a 400, not a 404: the object is not there.
            if error_code(exc) in _MISSING or error_code(exc) == "400":
                return None
            raise
        etag = response["ETag"].strip('"')
        return ObjectInfo(key, response.get("VersionId") or etag, etag, response["ContentLength"],
                          dict(response.get("Metadata", {})))  # fmt: skip

    def iter_lines(self, bucket: str, key: str, version: str | None = None) -> Iterator[bytes]:
        body = self._get(bucket, key, version)["Body"]
        # Streams: never holds the whole object. keepends so a line's size is what Ground Truth counts.
        yield from body.iter_lines(chunk_size=1024 * 1024, keepends=True)

    def get_bytes(self, bucket: str, key: str, version: str | None = None) -> bytes:
        return self._get(bucket, key, version)["Body"].read()

    def _get(self, bucket: str, key: str, version: str | None) -> "GetObjectOutputTypeDef":
        if version:
            return self.client.get_object(Bucket=bucket, Key=key, VersionId=version)
        return self.client.get_object(Bucket=bucket, Key=key)

    def put(
        self, bucket: str, key: str, body: bytes, content_type: str, metadata: dict[str, str] | None = None
    ) -> None:
        self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, Metadata=metadata or {})

    def put_if_absent(self, bucket: str, key: str, body: bytes, content_type: str) -> bool:
        try:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*")
        except ClientError as exc:
            if error_code(exc) in {"PreconditionFailed", "ConditionalRequestConflict"}:
                return False
            raise
        return True

    def upload(self, bucket: str, key: str, stream: IO[bytes], content_type: str) -> None:
        self.client.upload_fileobj(stream, bucket, key, ExtraArgs={"ContentType": content_type})

    def list_objects(self, bucket: str, prefix: str) -> Iterator[ObjectInfo]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                etag = item["ETag"].strip('"')
                yield ObjectInfo(item["Key"], etag, etag, item["Size"])

    def list_prefixes(self, bucket: str, prefix: str) -> Iterator[str]:
        """The "folders" directly under prefix: one request lists a thousand of them."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                yield common["Prefix"]
