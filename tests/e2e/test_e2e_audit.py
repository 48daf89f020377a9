"""Audits through the emulator (issue 16): the emulated workers verify the boxes the emulated learner machine-labeled,
the measured accuracy is the learner's (checked against the world's truth), and the gate pauses and resumes."""

import json

import numpy as np

from local.groundtruth.verification import VerificationKit
from tests.e2e.conftest import CHAIN, Chain, tags


def _true_share(lines: list[dict[str, object]]) -> float:
    """The share of these machine labels whose box set meets Ground Truth's bar for boxes (IoU score 0.6)."""
    kit = VerificationKit(("Bird",), lines)  # type: ignore[arg-type]
    objects = kit.observe([str(line["source-ref"]) for line in lines])
    return float(np.mean(kit.quality(objects, np.arange(len(lines))) >= 0.6))


def test_audits_measure_the_learners_accuracy_and_the_gate_holds_the_chain_until_resumed(chain: Chain) -> None:
    # Given 2,500 bird images in two rounds, each round's machine labels audited on 100, with a bar of 90%
    spec = chain.upload_spec(rounds=2, baseline=False, audit={"sampleSize": 100, "minAccuracy": 0.9})
    assert spec
    chain.drop_manifest("birds", 2500)

    # When the chain runs
    chain.cloud.run()

    # Then round 1's machine labels were verified by the emulated workers, and fell below the bar
    [first] = chain.recorder.of_type("Audit Completed")
    audit = chain.job("-r1a-a1")
    assert tags(audit)["gtchain:role"] == "audit"
    assert audit["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith(":function:PRE-VerificationBoundingBox")
    assert first["sampled"] == 100 and first["kind"] == "verification" and first["belowBar"] is True
    status = chain.status()
    assert status["state"] == "paused" and status["reason"].startswith("audit: round 1's machine labels are")
    assert [job["LabelingJobName"][-6:] for job in chain.jobs()] == ["-r1-a1", "r1a-a1"]  # round 2 waits
    assert chain.status()["manifests"][0]["status"] == "in progress"  # its round 2 waits

    # When the team resumes
    chain.cloud.put(f"chains/{CHAIN}/chain.json", chain.cloud.get(f"chains/{CHAIN}/chain.json"))
    chain.cloud.run()

    # Then round 2 ran with the carried model, and its audit measured it too
    audits = chain.recorder.of_type("Audit Completed")
    assert [a["round"] for a in audits] == [1, 2]
    # And each audit's accuracy is the learner's: its interval holds the true share of the round's good machine labels
    results = chain.results("birds")
    for measured in audits:
        job = measured["auditedJob"].lower()
        machine = [line for line in results if line["category-metadata"].get("job-name") == f"labeling-job/{job}"
                   and line["category-metadata"].get("human-annotated") == "no"]  # fmt: skip
        assert len(machine) == measured["machineLabeled"]
        truth = _true_share(machine)  # type: ignore[arg-type]
        assert measured["lower"] - 0.05 <= truth <= measured["upper"] + 0.05, (truth, measured)
        assert 0.2 < measured["accuracy"] < 0.95  # measured, not set
        # And a round below the bar has its machine-labeled lines marked in the results
        assert all(line.get("gtchain-audit") == ("below-bar" if measured["belowBar"] else None) for line in machine)
    human = [line for line in results if line["category-metadata"].get("human-annotated") != "no"]
    assert human and not any("gtchain-audit" in line for line in human)
    report = json.loads(chain.cloud.get(f"chains/{CHAIN}/reports/chain/summary.json"))
    assert [r["round"] for r in report["audits"]["rounds"]] == [1, 2]
    assert report["audits"]["checkedObjects"] == sum(a["audited"] for a in audits)
    assert "Audits found the machine labels" in report["headline"][1]
    assert [a["round"] for a in chain.status()["audits"]] == [1, 2]
