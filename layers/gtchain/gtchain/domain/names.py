"""Keys, identifiers and job names: every name gtchain writes or reads is built here."""

import hashlib
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

CHAIN_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
CHAIN_ID_MAX = 32
MANIFEST_SUFFIX = ".manifest"
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
JOB_NAME_MAX = 63
PREFIX = re.compile(r"^[a-z][a-z0-9]{0,11}$")
MAX_ROUND = 9999
MAX_ATTEMPT = 99

Role = Literal["round", "baseline", "audit"]
# A job name's suffix after r<round>: a baseline's "b", an audit's "a" (gtchain-birds-3f9a1c-r2a-a1 audits r2-a1).
ROLE_SUFFIX: dict[Role, str] = {"round": "", "baseline": "b", "audit": "a"}


class InvalidChainIdError(ValueError):
    pass


def is_chain_id(text: str) -> bool:
    return 1 <= len(text) <= CHAIN_ID_MAX and CHAIN_ID.match(text) is not None


def check_chain_id(chain_id: str) -> str:
    if not is_chain_id(chain_id):
        raise InvalidChainIdError(
            f"chain id {chain_id!r} must be 1-{CHAIN_ID_MAX} characters: lower-case letters, digits "
            "and single hyphens, starting and ending with a letter or digit"
        )
    return chain_id


@dataclass(frozen=True)
class ChainObject:
    """An object a user put under chains/: the spec or an inbox manifest."""

    chain_id: str
    kind: Literal["spec", "manifest"]
    name: str  # the manifest's file name, or "chain.json"


class NotAChainObjectError(ValueError):
    pass


def classify_key(key: str) -> ChainObject:
    """Map a key the S3 rules let through to what it is; raise for keys in the wrong place."""
    parts = key.split("/")
    if len(parts) < 3 or parts[0] != "chains":
        raise NotAChainObjectError(f"{key!r} is not under chains/<chain-id>/")
    if parts[-1] == "chain.json" and len(parts) == 3:
        return ChainObject(check_chain_id(parts[1]), "spec", "chain.json")
    if len(parts) == 4 and parts[2] == "inbox" and parts[3].endswith(MANIFEST_SUFFIX):
        check_chain_id(parts[1])
        if parts[3] == MANIFEST_SUFFIX:
            raise NotAChainObjectError(f"{key!r}: a manifest needs a name before {MANIFEST_SUFFIX}")
        return ChainObject(parts[1], "manifest", parts[3])
    # The rules' wildcards also match keys such as chains/a/b/chain.json ("a/b" is no chain id) or
    # chains/a/inbox/sub/x.manifest (a valid chain, a misplaced manifest): say which.
    end = len(parts) - 1 if parts[-1] == "chain.json" or "inbox" not in parts[2:] else parts.index("inbox", 2)
    check_chain_id("/".join(parts[1:end]))
    raise NotAChainObjectError(
        f"{key!r}: manifests go directly in chains/<chain-id>/inbox/ and end in {MANIFEST_SUFFIX}"
    )


CHAINS_PREFIX = "chains/"


def chain_prefix(chain_id: str) -> str:
    """Everything gtchain writes for a chain lives under this prefix."""
    return f"{CHAINS_PREFIX}{chain_id}/"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def parse_s3_uri(uri: str, *, key_required: bool = True) -> tuple[str, str] | None:
    """(bucket, key) of an s3:// URI; None when it is not one (or has no key and one is required)."""
    if not uri.startswith("s3://"):
        return None
    bucket, _, key = uri[5:].partition("/")
    return (bucket, key) if bucket and (key or not key_required) else None


def object_location(uri: str) -> tuple[str, str]:
    """(bucket, key) of a URI gtchain wrote itself: anything else is a corrupted record."""
    location = parse_s3_uri(uri)
    if location is None:
        raise ValueError(f"{uri!r} is not an s3://bucket/key URI")
    return location


def spec_key(chain_id: str) -> str:
    return f"{chain_prefix(chain_id)}chain.json"


def inbox_prefix(chain_id: str) -> str:
    return f"{chain_prefix(chain_id)}inbox/"


def manifest_key(chain_id: str, name: str) -> str:
    return f"{inbox_prefix(chain_id)}{name}"


def _safe(text: str) -> str:
    return quote(text, safe="-_.")


def error_report_key(key: str, version: str, chain_id: str | None) -> str:
    """One report per object version, so a duplicate event finds the report it already wrote."""
    if chain_id is None:
        return f"rejected/{_safe(key)}@{_safe(version)}.json"
    name = key.rsplit("/", 1)[-1]
    return f"{chain_prefix(chain_id)}errors/{_safe(name)}@{_safe(version)}.json"


def part_key(chain_id: str, manifest_name: str, version: str, part: int, parts: int) -> str:
    digest = hashlib.sha256(f"{manifest_name}\0{version}".encode()).hexdigest()[:16]
    return f"{chain_prefix(chain_id)}parts/{digest}/part-{part}-of-{parts}.manifest"


DIGEST_INDEX_SUFFIX = ".index"


def digest_index_key(chain_id: str, incarnation: str, through_round: int) -> str:
    """The chain's index of object identities (domain.digest_index) as of the manifest whose last round is
    through_round."""
    return f"{chain_prefix(chain_id)}index/{incarnation}/through-{through_round:04d}{DIGEST_INDEX_SUFFIX}"


def round_input_key(chain_id: str, round_number: int, attempt: int) -> str:
    return f"{chain_prefix(chain_id)}rounds/{round_number:04d}/attempt-{attempt}/input.manifest"


def round_digests_key(chain_id: str, round_number: int, attempt: int) -> str:
    return f"{chain_prefix(chain_id)}rounds/{round_number:04d}/attempt-{attempt}/input.digests"


def round_labeled_digests_key(chain_id: str, round_number: int, attempt: int) -> str:
    """A completed round's digests less the objects Ground Truth could not label."""
    return f"{chain_prefix(chain_id)}rounds/{round_number:04d}/attempt-{attempt}/labeled.digests"


def round_skipped_key(chain_id: str, round_number: int, attempt: int) -> str:
    return f"{chain_prefix(chain_id)}rounds/{round_number:04d}/attempt-{attempt}/skipped.jsonl"


def round_audit_input_key(chain_id: str, round_number: int, attempt: int) -> str:
    """The audit's sample: the audited job's output lines it draws, one per object."""
    return f"{chain_prefix(chain_id)}rounds/{round_number:04d}/attempt-{attempt}/audit.manifest"


def config_key(chain_id: str, kind: str, digest: str, suffix: str) -> str:
    return f"{chain_prefix(chain_id)}config/{kind}-{digest}{suffix}"


def job_output_prefix(chain_id: str) -> str:
    return f"{chain_prefix(chain_id)}jobs"


def results_key(chain_id: str, manifest_name: str) -> str:
    return f"{chain_prefix(chain_id)}results/{manifest_name}"


def status_key(chain_id: str) -> str:
    return f"{chain_prefix(chain_id)}status.json"


def reports_prefix(chain_id: str) -> str:
    return f"{chain_prefix(chain_id)}reports/"


def job_name(prefix: str, chain_id: str, incarnation: str, round_number: int, role: Role, attempt: int) -> str:
    """Deterministic, unique per chain incarnation, round, role and attempt; at most 63 characters.

    Labeling job names can never be reused, so a retried round gets a new attempt number and a chain
    created again after deletion gets a new incarnation.
    """
    if not PREFIX.match(prefix):
        raise ValueError(f"job name prefix {prefix!r} must be 1-12 lower-case letters and digits")
    if not (1 <= round_number <= MAX_ROUND and 1 <= attempt <= MAX_ATTEMPT):
        raise ValueError(f"round {round_number} or attempt {attempt} out of range")
    name = f"{prefix}-{chain_id}-{incarnation}-r{round_number}{ROLE_SUFFIX[role]}-a{attempt}"
    if len(name) > JOB_NAME_MAX or not JOB_NAME.match(name):
        raise ValueError(f"job name {name!r} is not a valid labeling job name (chain id {chain_id!r} too long?)")
    return name


def job_name_from_arn(arn: str) -> str:
    _, sep, name = arn.partition(":labeling-job/")
    if not sep or not name:
        raise ValueError(f"{arn!r} is not a labeling job ARN")
    return name


# Reports: chains/<chain-id>/reports/<job-name>/ per job, chains/<chain-id>/reports/chain/ per chain.
REPORT_SUMMARY = "summary.json"
REPORT_FIGURE = "report.png"
REPORT_HTML = "report.html"
CHAIN_REPORT_DIR = "chain"  # never a job name: those start with the job name prefix and end in -a<attempt>


def job_report_prefix(chain_id: str, job_name: str) -> str:
    return f"{reports_prefix(chain_id)}{job_name}/"


def chain_report_prefix(chain_id: str) -> str:
    return f"{reports_prefix(chain_id)}{CHAIN_REPORT_DIR}/"


def job_of_summary_key(chain_id: str, key: str) -> str | None:
    """The job a key under the chain's reports/ is the summary of; None for anything else."""
    rest = key.removeprefix(reports_prefix(chain_id))
    job, _, name = rest.partition("/")
    if rest == key or name != REPORT_SUMMARY or not job or job == CHAIN_REPORT_DIR:
        return None
    return job


# Exports (docs/exports.md): chains/<chain-id>/exports/<manifest-name>/<format>/ per manifest, and the chain's
# export of every manifest so far in chains/<chain-id>/exports/chain/<format>/. Not under reports/: the reporter
# and the reconciler list reports/ on every run, and an export can hold a file per image.
CHAIN_EXPORT_DIR = "chain"  # never a manifest's name: those end in .manifest


def exports_prefix(chain_id: str) -> str:
    return f"{chain_prefix(chain_id)}exports/"


def manifest_export_prefix(chain_id: str, manifest_name: str) -> str:
    return f"{exports_prefix(chain_id)}{manifest_name}/"


def chain_export_prefix(chain_id: str) -> str:
    return f"{exports_prefix(chain_id)}{CHAIN_EXPORT_DIR}/"
