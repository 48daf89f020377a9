"""The seed notebook's experiment, driven through the handlers: 2,500 lines, 2 rounds, a baseline."""

import json
from typing import Any

from tests.integration.chain.flow import advance, drop, jobs, manifest_lines, model_arn, reconcile
from tests.support import DATA_BUCKET, Stack, finish_job


def _body(stack: Stack, key: str) -> str:
    return str(stack.s3.get_object(Bucket=DATA_BUCKET, Key=key)["Body"].read().decode())


def _input_lines(job: Any, stack: Stack) -> list[str]:
    uri = job.request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"]
    return _body(stack, uri.removeprefix(f"s3://{DATA_BUCKET}/")).splitlines()


def test_seed_experiment_carries_the_model_and_runs_a_baseline(stack: Stack, spec_document: dict[str, Any]) -> None:
    # Given the seed's chain.json and a 2,500-line manifest
    drop(stack, "chains/birds/chain.json", json.dumps(spec_document))
    manifest = manifest_lines(2500)

    # When the manifest is dropped
    outcome = drop(stack, "chains/birds/inbox/birds.manifest", manifest)

    # Then round 1 starts on the first 1,250 lines, without a model and without a baseline
    assert outcome["action"] == "queued"
    [first] = jobs().values()
    assert first.request["LabelingJobAlgorithmsConfig"].get("InitialActiveLearningModelArn") is None
    assert _input_lines(first, stack) == manifest.splitlines()[:1250]
    tags = {t["Key"]: t["Value"] for t in first.tags}
    assert tags["gtchain:chain-id"] == "birds" and tags["gtchain:round"] == "1" and tags["gtchain:role"] == "round"
    assert first.request["HumanTaskConfig"]["PublicWorkforceTaskPrice"]["AmountInUsd"] == {
        "Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6,
    }  # fmt: skip
    started = [e for e in stack.published() if e["detail-type"] == "Round Started"]
    assert [(e["detail"]["round"], e["detail"]["role"]) for e in started] == [(1, "round")]

    # When round 1 completes having trained a model
    finish_job(first.name, human=650, machine=600, model=model_arn("birds-r1"))
    assert advance(first.name, "Completed")["action"] == "applied"

    # Then round 2 starts from that model on the last 1,250 lines, and a baseline runs the same part without it
    second = {j.name: j for j in jobs().values() if j.name != first.name}
    by_role = {next(t["Value"] for t in j.tags if t["Key"] == "gtchain:role"): j for j in second.values()}
    assert set(by_role) == {"round", "baseline"}
    round2, baseline = by_role["round"], by_role["baseline"]
    assert round2.request["LabelingJobAlgorithmsConfig"]["InitialActiveLearningModelArn"] == model_arn("birds-r1")
    assert "InitialActiveLearningModelArn" not in baseline.request["LabelingJobAlgorithmsConfig"]
    assert _input_lines(round2, stack) == _input_lines(baseline, stack) == manifest.splitlines()[1250:]
    published = stack.published()
    completed = [e["detail"] for e in published if e["detail-type"] == "Round Completed"]
    assert completed[0]["round"] == 1 and completed[0]["finalModelArn"] == model_arn("birds-r1")
    # 650 human x (0.08 + 3 x 0.036) + 600 machine x 0.08 = 122.20 + 48.00
    assert completed[0]["costUsd"] == "170.20"

    # When the baseline fails, the chain goes on and the user is told
    finish_job(baseline.name, "Failed", reason="ClientError: worker template")
    assert advance(baseline.name, "Failed")["action"] == "applied"
    notes = stack.notifications()
    assert any("Baseline" in n["Message"] for n in notes)
    assert stack.ports.store.get_chain("birds").state == "active"  # type: ignore[union-attr]

    # And when round 2 completes, the chain is idle with round 2's model carried
    finish_job(round2.name, human=300, machine=950, model=model_arn("birds-r2"))
    advance(round2.name, "Completed")
    chain = stack.ports.store.get_chain("birds")
    assert chain is not None and chain.active_round == 0 and chain.latest_model_arn == model_arn("birds-r2")
    assert len(jobs()) == 3
    assert reconcile()["launched"] == []
