"""The data bucket as the commands read and write it: chain.json, the inbox, status.json, results, errors."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from gtchain.adapters.errors import error_code
from gtchain.domain import names
from gtchain_cli.errors import CliError, Exit

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}
_CONFLICT = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


class WriteConflictError(Exception):
    """A conditional write lost: the object changed since it was read (or appeared, or vanished)."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    body: bytes
    etag: str
    version: str  # the version id; the ETag in an unversioned bucket (as the service names versions)


@dataclass(frozen=True)
class Listed:
    key: str
    size: int
    modified: datetime


class DataBucket:
    def __init__(self, s3: "S3Client", name: str) -> None:
        self.s3 = s3
        self.name = name

    def uri(self, key: str) -> str:
        return names.s3_uri(self.name, key)

    def get(self, key: str) -> StoredObject | None:
        try:
            response = self.s3.get_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return None
            raise
        etag = response["ETag"].strip('"')
        return StoredObject(key, response["Body"].read(), etag, response.get("VersionId") or etag)

    def get_json(self, key: str) -> Any:
        stored = self.get(key)
        return None if stored is None else json.loads(stored.body)

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return False
            raise
        return True

    def put(self, key: str, body: bytes, *, if_match: str | None = None, if_absent: bool = False,
            content_type: str = "application/json") -> str:  # fmt: skip
        """Write; with if_match (an ETag) or if_absent the write happens only if the object is still as read.
        Returns the new version (the version id, or the ETag without versioning)."""
        kwargs: dict[str, Any] = {"Bucket": self.name, "Key": key, "Body": body, "ContentType": content_type}
        if if_match is not None:
            kwargs["IfMatch"] = f'"{if_match}"'
        if if_absent:
            kwargs["IfNoneMatch"] = "*"
        try:
            response = self.s3.put_object(**kwargs)
        except ClientError as exc:
            # 412: the ETag no longer matches; 409: a concurrent conditional write; 404: deleted since read.
            if error_code(exc) in _CONFLICT or (if_match is not None and error_code(exc) in _MISSING):
                raise WriteConflictError(key) from exc
            raise
        return response.get("VersionId") or response["ETag"].strip('"')

    def upload_file(self, key: str, path: Path, content_type: str) -> str:
        """A manifest (any size: multipart above 8 MB). Returns its version."""
        self.s3.upload_file(str(path), self.name, key, ExtraArgs={"ContentType": content_type})
        head = self.s3.head_object(Bucket=self.name, Key=key)
        return head.get("VersionId") or head["ETag"].strip('"')

    def download(self, key: str, out: IO[bytes]) -> int:
        """Stream an object into out; returns the number of lines written."""
        try:
            body = self.s3.get_object(Bucket=self.name, Key=key)["Body"]
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise CliError(f"{self.uri(key)} does not exist", Exit.NOT_FOUND) from None
            raise
        lines = 0
        for chunk in body.iter_chunks(chunk_size=1024 * 1024):
            out.write(chunk)
            lines += chunk.count(b"\n")
        return lines

    def listing(self, prefix: str) -> Iterator[Listed]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
            for item in page.get("Contents", []):
                yield Listed(item["Key"], item["Size"], item["LastModified"])

    def chain_ids(self) -> list[str]:
        """Every chains/<id>/ prefix in the bucket."""
        found = []
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.name, Prefix="chains/", Delimiter="/"):
            for prefix in page.get("CommonPrefixes", []):
                found.append(prefix["Prefix"].removeprefix("chains/").rstrip("/"))
        return sorted(found)

    def has_anything(self, chain_id: str) -> bool:
        page = self.s3.list_objects_v2(Bucket=self.name, Prefix=names.chain_prefix(chain_id), MaxKeys=1)
        return bool(page.get("KeyCount", 0))

    # ---- a chain's documents -----------------------------------------------------------------------------

    def status(self, chain_id: str) -> dict[str, Any] | None:
        document = self.get_json(names.status_key(chain_id))
        return document if isinstance(document, dict) else None

    def require_status(self, chain_id: str) -> dict[str, Any]:
        """status.json, or one line saying why there is none."""
        check_chain_id(chain_id)
        status = self.status(chain_id)
        if status is not None:
            return status
        if self.has_anything(chain_id):
            raise CliError(f"chain {chain_id} has no status.json yet: gtchain writes it once chain.json or a "
                           "manifest is processed; try again in a moment", Exit.NOT_YET)  # fmt: skip
        raise no_such_chain(chain_id, self)


def no_such_chain(chain_id: str, bucket: DataBucket) -> CliError:
    return CliError(f"no chain {chain_id} in s3://{bucket.name}: `gtchain status` lists the chains; `gtchain submit "
                    f"{chain_id} --spec chain.json` creates it", Exit.NOT_FOUND)  # fmt: skip


def check_chain_id(chain_id: str) -> str:
    try:
        return names.check_chain_id(chain_id)
    except names.InvalidChainIdError as exc:
        raise CliError(str(exc), Exit.USAGE) from None
