"""S3 with chunked reads, for output files that are one long JSON array."""

from collections.abc import Iterator

from gtchain.adapters.s3 import S3ObjectStore


class S3StreamingObjectStore(S3ObjectStore):
    def iter_chunks(self, bucket: str, key: str, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        yield from body.iter_chunks(chunk_size=chunk_size)
