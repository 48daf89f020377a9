"""Where a completed labeling job's output manifest is, once Ground Truth has written it."""

from gtchain.domain.names import parse_s3_uri
from gtchain.service.ports import ObjectStore, TransientError


class OutputNotReadyError(TransientError):
    """Ground Truth writes a job's output minutes after Completed: whoever needs it retries later."""


def output_manifest_location(objects: ObjectStore, job_name: str, uri: str | None) -> tuple[str, str]:
    """(bucket, key) of the job's output manifest; OutputNotReadyError until the object is in S3."""
    location = parse_s3_uri(uri) if uri else None
    if location is None or objects.head(*location) is None:
        raise OutputNotReadyError(
            f"labeling job {job_name}: output manifest {uri or '(no OutputDatasetS3Uri yet)'} is not in S3 yet"
        )
    return location
