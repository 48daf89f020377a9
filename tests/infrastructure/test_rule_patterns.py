"""The template's own EventBridge patterns, run through moto's pattern matcher: the S3 rules fire for what users
upload (however the key is encoded) and never for anything the service or Ground Truth writes."""

import copy
import json
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from moto.events.models import EventPattern

from gtchain.domain import names
from tests.infrastructure import cfn, invariants
from tests.support import ACCOUNT, DATA_BUCKET, REGION, load_event

PREFIX = "gtchain"
NAMES = {
    "DataBucket": DATA_BUCKET,
    "JobNamePrefix": PREFIX,
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
}


def patterns(function_id: str) -> list[EventPattern]:
    deployed = cfn.deployed()
    return [
        EventPattern.load(json.dumps(cfn.resolve(invariants.props(rule)["EventPattern"], NAMES)))
        for _, rule in invariants.resources(deployed, "AWS::Events::Rule")
        if any(invariants.refers_to(t["Arn"], function_id, "Arn") for t in invariants.props(rule)["Targets"])
    ]


def object_created(key: str, bucket: str = DATA_BUCKET) -> dict[str, Any]:
    event = copy.deepcopy(load_event("s3-object-created-manifest.json"))
    event["detail"]["bucket"]["name"] = bucket
    event["resources"] = [f"arn:aws:s3:::{bucket}"]
    event["detail"]["object"]["key"] = key
    return event


def starts(key: str, bucket: str = DATA_BUCKET) -> bool:
    return any(pattern.matches_event(object_created(key, bucket)) for pattern in patterns("StartFunction"))


def test_start_has_the_two_s3_rules() -> None:
    assert len(patterns("StartFunction")) == 2


USER_KEYS = [
    names.spec_key("birds"),
    names.spec_key("a-1"),
    names.manifest_key("birds", "batch-1.manifest"),
    names.manifest_key("birds", "my batch.manifest"),
    names.manifest_key("birds", "a+b (copy).manifest"),
    names.manifest_key("birds", "100%.manifest"),
    names.manifest_key("inbox", "jobs.manifest"),
]


@pytest.mark.parametrize("key", USER_KEYS)
@pytest.mark.parametrize("encode", [str, quote_plus, quote], ids=["raw", "quote_plus", "quote"])
def test_user_uploads_start_the_service(key: str, encode: Any) -> None:
    # Given a key a user uploads, as S3 may spell it in the event (raw or URL-encoded, keeping the slashes)
    spelled = "/".join(encode(part) for part in key.split("/"))

    # Then one of the start rules matches it
    assert starts(spelled), spelled


def _service_keys(chain_id: str) -> list[str]:
    """Every kind of key gtchain writes for a chain, and what Ground Truth writes under a job's output."""
    job = names.job_name(PREFIX, chain_id, "k3x9", 12, "baseline", 2)
    output = f"{names.job_output_prefix(chain_id)}/{job}"
    manifest = names.manifest_key(chain_id, "batch.manifest")
    spec = names.spec_key(chain_id)
    return [
        names.error_report_key(manifest, "v1", chain_id),
        names.error_report_key(spec, "v1", chain_id),
        names.error_report_key(f"chains/{chain_id}/x/inbox/chain.json", "v1", None),
        names.part_key(chain_id, "batch.manifest", "v1", 1, 2),
        names.digest_index_key(chain_id, "a1b2c3", 2),
        names.round_input_key(chain_id, 12, 2),
        names.round_digests_key(chain_id, 12, 2),
        names.round_skipped_key(chain_id, 12, 2),
        names.round_audit_input_key(chain_id, 12, 2),
        names.config_key(chain_id, "ui-template", "0f3c", ".liquid.html"),
        names.config_key(chain_id, "verification-template", "0f3c", ".liquid.html"),
        names.config_key(chain_id, "labels", "0f3c", ".json"),
        names.results_key(chain_id, "batch.manifest"),
        names.status_key(chain_id),
        names.job_report_prefix(chain_id, job) + names.REPORT_SUMMARY,
        names.job_report_prefix(chain_id, job) + names.REPORT_FIGURE,
        names.chain_report_prefix(chain_id) + names.REPORT_SUMMARY,
        names.chain_report_prefix(chain_id) + names.REPORT_HTML,
        f"{output}/manifests/output/output.manifest",
        f"{output}/manifests/intermediate/3/output.manifest",
        f"{output}/annotations/worker-response/iteration-1/0/2026-11-24_09:13:41.json",
        f"{output}/annotations/consolidated-annotation/consolidation-response/iteration-1/2026-11-24_09:13:41.json",
        f"{output}/activelearning/text-classification/3/input/auto_annotator_output.txt",
        f"{output}/training/object-detection/3/output/{job}-train/output/model.tar.gz",
    ]


# EventBridge's * spans slashes: any key under chains/ ending in /chain.json, or holding /inbox/ and ending in
# .manifest, would start the service. "inbox", "jobs" and "chains" as chain ids put those words in the keys.
@pytest.mark.parametrize("chain_id", ["birds", "inbox", "jobs", "chains"])
def test_nothing_the_service_or_ground_truth_writes_starts_the_service(chain_id: str) -> None:
    written = [key for key in _service_keys(chain_id) if starts(key)]

    assert written == []


@pytest.mark.parametrize(
    "key",
    [
        "chains/birds/inbox/readme.txt",
        "chains/birds/inbox/batch.manifest.tmp",
        "chains/birds/chain.json.bak",
        "archive/birds/chain.json",
        "rejected/chains/birds/inbox/batch.manifest",
    ],
)
def test_other_user_keys_do_not_start_the_service(key: str) -> None:
    assert not starts(key)


def test_uploads_to_another_bucket_do_not_start_the_service() -> None:
    assert not starts(names.spec_key("birds"), bucket="someone-elses-bucket")


def test_advance_hears_only_this_stacks_labeling_jobs() -> None:
    # Given the job state change rule and AWS's event for one of this stack's jobs
    [pattern] = patterns("AdvanceFunction")
    ours = load_event("labeling-job-state-change-completed.json")
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/"

    def with_job(name: str) -> dict[str, Any]:
        return {**ours, "resources": [arn + name]}

    # Then it matches that job and any status, but not another prefix's jobs nor the task status events
    assert pattern.matches_event(ours)
    assert pattern.matches_event({**ours, "detail": {"LabelingJobStatus": "Stopped"}})
    assert not pattern.matches_event(with_job("gtchainx-birds-k3x9-r1-a1"))
    assert not pattern.matches_event(with_job("someone-else"))
    assert not pattern.matches_event({**ours, "detail-type": "SageMaker Ground Truth Labeling Job Task Status Change"})


def test_report_hears_round_and_manifest_completed_from_gtchain_only() -> None:
    rules = patterns("ReportFunction")
    event = {**load_event("s3-object-created-manifest.json"), "source": "gtchain"}

    def heard(**changes: str) -> bool:
        return any(pattern.matches_event({**event, **changes}) for pattern in rules)

    assert heard(**{"detail-type": "Round Completed"}) and heard(**{"detail-type": "Manifest Completed"})
    assert not heard(**{"detail-type": "Round Completed", "source": "someone.else"})
    assert not heard(**{"detail-type": "Manifest Completed", "source": "someone.else"})
    assert not heard(**{"detail-type": "Round Started"}) and not heard(**{"detail-type": "Export Ready"})
