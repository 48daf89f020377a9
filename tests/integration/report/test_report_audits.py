"""Audits in the reports, through the handlers on the embedded stack: the audit job is reported as its own role, the
audited round's report carries its audit, and the chain report's audits slot and headline show the accuracy."""

import json
from typing import Any

from tests.audits import box_label, complete_audit, complete_round
from tests.groundtruth import of_type, round_job
from tests.integration.chain.flow import drop, manifest_lines
from tests.integration.report.report_flow import report
from tests.support import Stack


def _summary(stack: Stack, job: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(stack.get(f"chains/birds/reports/{job}/summary.json"))
    return document


def test_an_audit_reaches_the_rounds_report_and_the_chains(report_stack: Stack, spec_document: dict[str, Any]) -> None:
    stack = report_stack
    # Given an audited chain whose round 1 completed with 30 machine labels (and was reported)
    spec = spec_document | {"rounds": 2, "baseline": False, "audit": {"sampleSize": 20, "minAccuracy": 0.5}}
    drop(stack, "chains/birds/chain.json", json.dumps(spec))
    drop(stack, "chains/birds/inbox/birds.manifest", manifest_lines(80))
    r1 = round_job(1)
    complete_round(stack, r1, lambda i, _: box_label(r1, i, human=i < 10, confidence=0.5 + i / 100))
    [round_completed] = of_type(stack.published(), "Round Completed")
    assert report(round_completed)["action"] == "reported"
    assert _summary(stack, r1)["audit"] is None

    # When the audit finds 3 of 20 box sets bad, and the reporter gets its Round Completed (role audit)
    audit = round_job(1, role="audit")
    complete_audit(stack, audit, bad={0, 1, 2})
    published = stack.published()
    [audited] = [e for e in of_type(published, "Round Completed") if e["role"] == "audit"]
    assert report(audited)["action"] == "reported"

    # Then the audit job's report is its own role, with its result and its cost (20 x (0.08 + 3 x 0.036))
    own = _summary(stack, audit)
    assert (own["role"], own["objects"]["human"], own["cost"]["totalUsd"]) == ("audit", 20, "3.76")
    expected = {"jobName": audit, "auditedJob": r1, "kind": "verification", "sampled": 20, "machineLabeled": 30,
                "audited": 20, "agreed": 17, "accuracy": 0.85, "lower": 0.6396, "upper": 0.9476, "minAccuracy": 0.5,
                "belowBar": False}  # fmt: skip
    assert own["audit"] | expected == own["audit"]
    assert own["settings"]["autoLabeling"] is False and own["eligibility"] == []
    # And the round's report carries its audit
    assert _summary(stack, r1)["audit"] == own["audit"]
    # And the chain report: the audits slot, audits as their own role in the totals, the headline
    chain = json.loads(stack.get("chains/birds/reports/chain/summary.json"))
    audits = chain["audits"]
    assert (audits["jobs"], audits["spentUsd"], audits["checkedObjects"], audits["machineLabelAccuracy"]) == (
        1, "3.76", 20, 0.85)  # fmt: skip
    assert (audits["lower"], audits["upper"], audits["belowBarRounds"]) == (0.6396, 0.9476, [])
    [entry] = audits["rounds"]
    assert (entry["round"], entry["jobName"], entry["auditedJob"], entry["totalUsd"]) == (1, audit, r1, "3.76")
    assert [job["role"] for job in chain["rounds"]] == ["round"]  # rounds and baselines only
    assert chain["totalsByRole"]["audit"]["jobs"] == 1 and chain["totals"]["jobs"] == 2
    assert "$3.76 on 1 audit" in chain["headline"][0]
    assert "Audits found the machine labels 85.0% accurate (95% interval 64.0% to 94.8%; 20 objects checked in 1 " \
           "round)." in chain["headline"][1]  # fmt: skip
    page = stack.get("chains/birds/reports/chain/report.html").decode()
    assert "Audits of machine labels" in page and audit in page and "64.0% to 94.8%" in page
