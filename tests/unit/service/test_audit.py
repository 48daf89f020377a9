"""Audits of machine labels (issue 16): each auto-labeling round's machine labels checked by humans on a sample, a
measured accuracy with its 95% Wilson interval, and the gate (minAccuracy)."""

import json
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from gtchain.domain.audit import draw, machine_label, sample_seed
from gtchain.service.reconcile import ReconcileError
from tests.audits import (
    audit_request,
    box_label,
    class_label,
    complete_audit,
    complete_round,
    write_audit_output,
    write_round_output,
)
from tests.groundtruth import ATTRIBUTE, input_lines, of_type, output_key, results, round_job, status
from tests.support import DATA_BUCKET, manifest_lines, model_arn
from tests.unit.service.world import World, advance, drop, finish_job, jobs, reconcile

SPEC = "chains/birds/chain.json"
HUMAN_PRICE = Decimal("0.188")  # 0.08 + 3 x 0.036


def _start(world: World, spec_document: dict[str, Any], objects: int = 80, **changes: Any) -> None:
    spec_document.update({"rounds": 2, "baseline": False, "audit": {"sampleSize": 20}} | changes)
    drop(world, SPEC, json.dumps(spec_document))
    drop(world, "chains/birds/inbox/birds.manifest", manifest_lines(objects))


def _machine_boxes(job: str, humans: int = 10) -> Any:
    """The first `humans` objects labeled by humans, the rest by the model, confidence rising with the line."""
    return lambda index, _: box_label(job, index, human=index < humans, confidence=round(0.5 + index / 200, 3))


def test_a_round_with_machine_labels_is_audited_with_ground_truths_verification_task(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a bounding-box chain asking for an audit of 20 objects (no bar)
    _start(world, spec_document)
    r1 = round_job(1)

    # When round 1 completes with 30 machine-labeled objects
    complete_round(world, r1, _machine_boxes(r1), model=model_arn("r1"))

    # Then an audit job starts beside round 2 (nothing waits for it without minAccuracy)
    audit = round_job(1, role="audit")
    assert audit == r1.replace("-r1-a1", "-r1a-a1")
    assert round_job(2) in jobs()
    request = audit_request(world, audit)
    human = request["HumanTaskConfig"]
    region_functions = "arn:aws:lambda:us-east-1:432418664414:function"
    assert human["PreHumanTaskLambdaArn"] == f"{region_functions}:PRE-VerificationBoundingBox"
    assert human["AnnotationConsolidationConfig"] == {
        "AnnotationConsolidationLambdaArn": f"{region_functions}:ACS-VerificationBoundingBox"
    }
    assert request["LabelAttributeName"] == "category-audit"
    assert "LabelingJobAlgorithmsConfig" not in request
    round_request = jobs()[r1.lower()].request
    # the same label categories, workforce, workers, price and limits as the chain's jobs
    assert request["LabelCategoryConfigS3Uri"] == round_request["LabelCategoryConfigS3Uri"]
    for key in ("WorkteamArn", "NumberOfHumanWorkersPerDataObject", "PublicWorkforceTaskPrice",
                "TaskTimeLimitInSeconds", "TaskAvailabilityLifetimeInSeconds", "MaxConcurrentTaskCount"):  # fmt: skip
        assert human[key] == round_request["HumanTaskConfig"][key]
    assert request["InputConfig"]["DataAttributes"] == round_request["InputConfig"]["DataAttributes"]
    assert {t["Key"]: t["Value"] for t in request["Tags"]}["gtchain:role"] == "audit"
    template = world.get(human["UiConfig"]["UiTemplateS3Uri"].removeprefix(f"s3://{DATA_BUCKET}/")).decode()
    assert "overlay=" in template and "manifestLine['category']" in template and "good" in template
    # its input: 20 of round 1's machine-labeled output lines, each with the label to verify
    sample = input_lines(world, audit)
    assert len(sample) == 20
    assert all(line[f"{ATTRIBUTE}-metadata"]["human-annotated"] == "no" for line in sample)
    assert all(line[f"{ATTRIBUTE}-metadata"]["job-name"] == f"labeling-job/{r1}" for line in sample)
    started = [e for e in of_type(world.published(), "Round Started") if e["role"] == "audit"]
    assert [(e["jobName"], e["objects"], e.get("warnings")) for e in started] == [(audit, 20, None)]

    # When workers judge 3 of the 20 box sets bad
    complete_audit(world, audit, bad={0, 1, 2})

    # Then the accuracy is 17/20 with its 95% Wilson interval, published, recorded and reported
    published = world.published()
    [completed] = of_type(published, "Audit Completed")
    assert completed == {
        "chainId": "birds", "round": 1, "jobName": audit, "auditedJob": r1, "kind": "verification", "sampled": 20,
        "machineLabeled": 30, "audited": 20, "agreed": 17, "accuracy": 0.85, "lower": 0.6396, "upper": 0.9476,
        "minAccuracy": None, "belowBar": False,
        "classes": [{"name": "Bird", "audited": 20, "agreed": 17, "accuracy": 0.85, "lower": 0.6396, "upper": 0.9476}],
    }  # fmt: skip
    assert [e["role"] for e in of_type(published, "Round Completed")] == ["audit"]  # the reporter reports it
    assert not of_type(published, "Chain Paused")
    document = status(world, "birds")
    [entry] = document["audits"]
    assert entry["round"] == 1 and entry["job"]["name"] == audit and entry["result"]["accuracy"] == 0.85
    # the audit's 20 human labels are spent: 20 x 0.188, beside round 1's 10 x 0.188 + 30 x 0.08 and round 2 running
    # at its worst case, 40 x 0.188
    spent = 20 * HUMAN_PRICE + 10 * HUMAN_PRICE + 30 * Decimal("0.08") + 40 * HUMAN_PRICE
    assert Decimal(document["spentUsd"]) == spent


def test_classification_is_audited_by_a_blind_relabel_with_the_chains_own_task(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given an image-classification chain of three classes, audited on 60 objects
    labels = ["Sparrow", "Pigeon", "Gull"]
    spec_document.update(task="image-classification", labels=labels,
                         instructions={"title": "Which bird?", "description": "Pick the bird.", "keywords": ["birds"]},
                         workforce=spec_document["workforce"] | {"pricePerTaskUsd": 0.012})  # fmt: skip
    _start(world, spec_document, objects=160, audit={"sampleSize": 60})
    r1 = round_job(1)

    # When round 1 completes: 70 of its 80 objects machine-labeled, 24 Sparrows, 24 Pigeons, 22 Gulls
    def labeler(index: int, _: Any) -> dict[str, Any]:
        return class_label(r1, labels, labels[index % 3], human=index < 10, confidence=0.6 + index / 400)

    complete_round(world, r1, labeler)

    # Then the audit relabels 60 of them with the chain's own task type, worker template and label categories,
    # without auto-labeling; the workers' template shows the object only (blind)
    audit = round_job(1, role="audit")
    request, original = audit_request(world, audit), jobs()[r1.lower()].request
    assert request["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith(":function:PRE-ImageMultiClass")
    assert request["HumanTaskConfig"]["AnnotationConsolidationConfig"] == original["HumanTaskConfig"][
        "AnnotationConsolidationConfig"]  # fmt: skip
    assert request["HumanTaskConfig"]["UiConfig"] == original["HumanTaskConfig"]["UiConfig"]
    assert request["LabelCategoryConfigS3Uri"] == original["LabelCategoryConfigS3Uri"]
    assert request["LabelAttributeName"] == "category-audit" and "LabelingJobAlgorithmsConfig" not in request
    price = original["HumanTaskConfig"]["PublicWorkforceTaskPrice"]
    assert request["HumanTaskConfig"]["PublicWorkforceTaskPrice"] == price
    sample = input_lines(world, audit)
    assert len(sample) == 60

    # When the workers' consolidated label differs from the machine's on 6 Pigeons and 2 Gulls
    wrong = [i for i, line in enumerate(sample) if line[f"{ATTRIBUTE}-metadata"]["class-name"] == "Pigeon"][:6]
    wrong += [i for i, line in enumerate(sample) if line[f"{ATTRIBUTE}-metadata"]["class-name"] == "Gull"][:2]
    complete_audit(world, audit, bad=set(wrong))

    # Then 52 of 60 agreed; per class, each machine label's class
    [completed] = of_type(world.published(), "Audit Completed")
    assert (completed["kind"], completed["audited"], completed["agreed"]) == ("relabel", 60, 52)
    by_class = {c["name"]: (c["audited"], c["agreed"]) for c in completed["classes"]}
    shown = Counter(line[f"{ATTRIBUTE}-metadata"]["class-name"] for line in sample)
    assert by_class == {name: (shown[name], shown[name] - {"Pigeon": 6, "Gull": 2}.get(name, 0)) for name in labels}


def test_the_sample_is_the_rounds_machine_labels_stratified_by_confidence_and_drawn_again_the_same(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a round of 1,000 objects, 200 human-labeled and 800 machine-labeled with confidences from 0.2 to 1.0
    _start(world, spec_document, objects=2000, audit={"sampleSize": 100})
    r1 = round_job(1)
    confidence = {i: round(0.2 + 0.8 * ((i * 7919) % 1000) / 1000, 4) for i in range(1000)}
    complete_round(world, r1, lambda i, _: box_label(r1, i, human=i % 5 == 0, confidence=confidence[i]))

    # Then the audit's sample holds 100 machine-labeled objects of round 1, 25 from each quarter by confidence
    audit = round_job(1, role="audit")
    sample = input_lines(world, audit)
    assert len(sample) == len({line["source-ref"] for line in sample}) == 100
    assert all(line[f"{ATTRIBUTE}-metadata"]["human-annotated"] == "no" for line in sample)
    machine = sorted(c for i, c in confidence.items() if i % 5)
    quartiles = [machine[200], machine[400], machine[600]]
    drawn = [line[f"{ATTRIBUTE}-metadata"]["objects"][0]["confidence"] for line in sample]
    assert [sum(1 for c in drawn if lo <= c < hi) for lo, hi in
            zip([0.0, *quartiles], [*quartiles, 2.0], strict=True)] == [25, 25, 25, 25]  # fmt: skip

    # And the draw is seeded by the audited job's name: a retry (or a second reader) draws the same sample
    body = world.get(output_key(r1)).splitlines()
    labels = [found for line in body if (found := machine_label(json.loads(line), ATTRIBUTE)) is not None]
    assert len(labels) == 800
    first = draw(labels, 100, sample_seed(r1))
    assert draw(labels, 100, sample_seed(r1)) == first
    assert draw(list(reversed(labels)), 100, sample_seed(r1)) != first  # positions differ, the objects do not:
    assert sorted(labels[i].digest for i in first) == sorted(
        list(reversed(labels))[i].digest for i in draw(list(reversed(labels)), 100, sample_seed(r1))
    )
    assert draw(labels, 100, sample_seed(r1 + "x")) != first


def test_every_machine_label_is_audited_when_there_are_fewer_than_the_sample(
    world: World, spec_document: dict[str, Any]
) -> None:
    _start(world, spec_document, audit={"sampleSize": 50})
    r1 = round_job(1)
    complete_round(world, r1, _machine_boxes(r1, humans=28))  # 12 machine labels
    assert len(input_lines(world, round_job(1, role="audit"))) == 12


def test_no_audit_without_machine_labels_nor_of_a_baseline(world: World, spec_document: dict[str, Any]) -> None:
    # Given an audited chain with baselines
    _start(world, spec_document, baseline=True)
    # When round 1 is labeled by humans alone, and round 2 (with the model) and its baseline both machine-label
    r1 = round_job(1)
    complete_round(world, r1, _machine_boxes(r1, humans=40), model=model_arn("r1"))
    assert not [name for name in jobs() if "-r1a-" in name]
    base = round_job(2, role="baseline")
    complete_round(world, base, _machine_boxes(base))
    r2 = round_job(2)
    complete_round(world, r2, _machine_boxes(r2))
    # Then only round 2's own job is audited
    assert [name for name in jobs() if name.endswith("a-a1")] == [round_job(2, role="audit")]
    [first, *_] = input_lines(world, round_job(2, role="audit"))
    assert first[f"{ATTRIBUTE}-metadata"]["job-name"] == f"labeling-job/{r2}"


def test_below_the_bar_the_chain_pauses_and_the_results_mark_the_rounds_machine_labels(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a chain of one round per manifest with minAccuracy 0.9, and two manifests
    spec_document.update(rounds=1, baseline=False, audit={"sampleSize": 20, "minAccuracy": 0.9})
    drop(world, SPEC, json.dumps(spec_document))
    drop(world, "chains/birds/inbox/first.manifest", manifest_lines(40))
    drop(world, "chains/birds/inbox/second.manifest", manifest_lines(40, start=40))
    r1 = round_job(1)

    # When round 1 completes with 30 machine labels
    complete_round(world, r1, _machine_boxes(r1))

    # Then round 2 waits for round 1's audit, and so do round 1's results
    audit = round_job(1, role="audit")
    assert round_job(1, role="audit") in jobs() and not [n for n in jobs() if "-r2-" in n]
    assert not of_type(world.published(), "Manifest Completed")
    assert status(world, "birds")["manifests"][0]["status"] == "writing results"

    # When workers judge 4 of 20 box sets bad: 80% accurate, 95% interval 58.4% to 91.9%
    complete_audit(world, audit, bad={0, 1, 2, 3})

    # Then the chain pauses, naming the round, the accuracy and the bar
    published = world.published()
    [paused] = of_type(published, "Chain Paused")
    assert paused["reason"].startswith(
        "audit: round 1's machine labels are 80.0% accurate (95% interval 58.4% to 91.9%; 16 of 20 audited objects "
        "agreed), below minAccuracy 0.9"
    )
    assert of_type(published, "Audit Completed")[0]["belowBar"] is True
    document = status(world, "birds")
    assert (document["state"], document["reason"]) == ("paused", paused["reason"])
    assert not [n for n in jobs() if "-r2-" in n]
    # And the results mark round 1's machine-labeled lines, and only those
    lines = results(world, "birds", "first.manifest")
    marked = [line.get("gtchain-audit") for line in lines]
    assert marked == [None] * 10 + ["below-bar"] * 30
    assert of_type(published, "Manifest Completed")[0]["manifest"] == "first.manifest"

    # When the team resumes (chain.json uploaded again, state active)
    drop(world, SPEC, json.dumps(spec_document))

    # Then round 2 starts
    assert round_job(2) in jobs()
    assert status(world, "birds")["state"] == "active"


def test_above_the_bar_the_next_round_waits_for_the_audit_then_goes_on(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given minAccuracy 0.6
    _start(world, spec_document, audit={"sampleSize": 20, "minAccuracy": 0.6})
    r1 = round_job(1)
    complete_round(world, r1, _machine_boxes(r1))
    audit = round_job(1, role="audit")
    # The next round waits for the audit, also through a reconciler period
    reconcile()
    assert not [n for n in jobs() if "-r2-" in n]

    # When the audit completes and Ground Truth writes its output late
    complete_audit(world, audit, bad={0}, output=False)

    # Then the result waits for it, and the next round with it
    assert not of_type(world.published(), "Audit Completed")
    assert not [n for n in jobs() if "-r2-" in n]
    assert reconcile()["results_waiting"] == [f"birds/audit of round 1: labeling job {audit}: output manifest "
                                              f"s3://{DATA_BUCKET}/{output_key(audit)} is not in S3 yet"]  # fmt: skip

    # When the output appears, the reconciler scores the audit (19 of 20: lower bound 0.7639 clears 0.6)
    write_audit_output(world, audit, bad={0})
    reconcile()

    # Then round 2 starts, and nothing paused
    [completed] = of_type(world.published(), "Audit Completed")
    assert (completed["agreed"], completed["lower"], completed["belowBar"]) == (19, 0.7639, False)
    assert round_job(2) in jobs()
    assert status(world, "birds")["state"] == "active"


def test_duplicate_and_lost_audit_events_and_a_round_is_never_audited_twice(
    world: World, spec_document: dict[str, Any]
) -> None:
    _start(world, spec_document, audit={"sampleSize": 20, "minAccuracy": 0.5})
    r1 = round_job(1)
    complete_round(world, r1, _machine_boxes(r1))
    # A duplicated round event and a reconciler period start no second audit
    advance(r1, "Completed")
    reconcile()
    assert [n for n in jobs() if "-r1a-" in n] == [round_job(1, role="audit")]
    audit = round_job(1, role="audit")

    # When the audit's Completed event is lost, the reconciler applies it
    complete_audit(world, audit, deliver=False)
    assert reconcile()["outcomes_applied"] == [audit]
    assert len(of_type(world.published(), "Audit Completed")) == 1
    # And a late duplicate changes nothing
    assert advance(audit, "Completed")["action"] == "duplicate"
    reconcile()
    published = world.published()
    assert not of_type(published, "Audit Completed") and not of_type(published, "Chain Paused")
    assert [n for n in jobs() if "-r1a-" in n] == [audit]
    assert round_job(2) in jobs()


def test_a_lost_audit_claim_or_creation_is_finished_by_the_reconciler(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given round 1's output written after its job completed: the audit cannot be drawn yet
    _start(world, spec_document, audit={"sampleSize": 20, "minAccuracy": 0.5})
    r1 = round_job(1)
    finish_job(r1, human=10, machine=30)
    advance(r1, "Completed")
    assert not [n for n in jobs() if "-r1a-" in n]
    # When the output appears and CreateLabelingJob fails once on the audit
    write_round_output(world, r1, _machine_boxes(r1))
    world.ports.labeling.fail("create", RuntimeError("throttled"), times=1, when=lambda name: "-r1a-" in name)
    with pytest.raises(ReconcileError):
        reconcile()
    # Then the next period creates the claimed audit, under the same name, on the same sample
    assert reconcile()["launched"] == [round_job(1, role="audit")]
    assert len(input_lines(world, round_job(1, role="audit"))) == 20


def test_a_failed_audit_notifies_and_the_chain_goes_on_without_a_bar(
    world: World, spec_document: dict[str, Any]
) -> None:
    _start(world, spec_document)
    r1 = round_job(1)
    complete_round(world, r1, _machine_boxes(r1))
    audit = round_job(1, role="audit")
    world.published()
    world.notifications()
    finish_job(audit, "Failed", reason="ClientError: the images could not be read")
    advance(audit, "Failed")
    published = world.published()
    [failed] = of_type(published, "Round Failed")
    assert (failed["role"], failed["jobName"]) == ("audit", audit)
    assert not of_type(published, "Chain Paused")
    [note] = world.notifications()
    assert note["Subject"] == "gtchain: audit of round 1 failed" and "The chain goes on" in note["Message"]
    assert status(world, "birds")["state"] == "active" and round_job(2) in jobs()


def test_a_failed_audit_the_gate_waits_for_pauses_the_chain_until_resumed(
    world: World, spec_document: dict[str, Any]
) -> None:
    _start(world, spec_document, audit={"sampleSize": 20, "minAccuracy": 0.9})
    r1 = round_job(1)
    complete_round(world, r1, _machine_boxes(r1))
    audit = round_job(1, role="audit")
    finish_job(audit, "Failed", reason="ClientError: the images could not be read")
    advance(audit, "Failed")
    [paused] = of_type(world.published(), "Chain Paused")
    assert paused["reason"].startswith(f"audit: the audit of round 1 ({audit}) failed: ClientError: the images")
    assert not [n for n in jobs() if "-r2-" in n]
    reconcile()
    assert not [n for n in jobs() if "-r2-" in n]
    drop(world, SPEC, json.dumps(spec_document))  # resume
    assert round_job(2) in jobs()


def test_the_budget_counts_audits_at_their_worst_case_and_their_cost(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given rounds of 1,250 objects with an audit of 100: a round's worst case is 1,250 x 0.188 + 100 x 0.188 = 253.80
    spec_document.update(budgetUsd=300)
    _start(world, spec_document, objects=2500, audit={"sampleSize": 100})
    assert status(world, "birds")["running"]["worstCaseUsd"] == "253.80"
    r1 = round_job(1)

    # When round 1 completes with 1,000 machine labels: 250 x 0.188 + 1,000 x 0.08 = 127.00, its audit due at 18.80
    complete_round(world, r1, _machine_boxes(r1, humans=250))

    # Then round 2 (253.80) does not fit beside what is spent and committed (127.00 + 18.80): the chain pauses
    [paused] = of_type(world.published(), "Chain Paused")
    assert paused["reason"] == (
        "budget: round 2 could cost up to $253.800 and $145.800 is spent or committed; that exceeds budgetUsd $300. "
        "Raise budgetUsd in chain.json to go on"
    )
    document = status(world, "birds")
    assert document["spentUsd"] == "145.80" and document["audits"][0]["job"]["status"] == "running"
    # When the audit completes with 90 judged (10 expired), it costs 90 x 0.188 = 16.92
    complete_audit(world, round_job(1, role="audit"), failed=set(range(10)))
    assert status(world, "birds")["spentUsd"] == "143.92"


def test_stopping_the_chain_stops_a_running_audit_and_it_is_never_run_again(
    world: World, spec_document: dict[str, Any]
) -> None:
    _start(world, spec_document, audit={"sampleSize": 20, "minAccuracy": 0.9})
    r1 = round_job(1)
    complete_round(world, r1, _machine_boxes(r1))
    audit = round_job(1, role="audit")
    drop(world, SPEC, json.dumps(spec_document | {"state": "stopped"}))
    assert jobs()[audit.lower()].status == "Stopping"
    finish_job(audit, "Stopped", human=5)
    advance(audit, "Stopped")
    [stopped] = [e for e in of_type(world.published(), "Round Failed") if e["role"] == "audit"]
    assert stopped["status"] == "stopped"
    # a stopped chain is not paused again by the gate; resumed, it goes on without the audit, never auditing again
    drop(world, SPEC, json.dumps(spec_document))
    assert round_job(2) in jobs() and [n for n in jobs() if "-r1a-" in n] == [audit]
    # what the stopped audit labeled is spent: 5 x 0.188
    assert status(world, "birds")["audits"][0]["job"]["costUsd"] == "0.94"


def test_counters_that_say_machine_labeled_with_an_output_that_shows_none_hold_nothing_up(
    world: World, spec_document: dict[str, Any]
) -> None:
    _start(world, spec_document, audit={"sampleSize": 20, "minAccuracy": 0.9})
    r1 = round_job(1)
    write_round_output(world, r1, _machine_boxes(r1, humans=40))  # every line human-labeled
    finish_job(r1, human=35, machine=5)
    advance(r1, "Completed")
    assert not [n for n in jobs() if "-r1a-" in n]  # no job: nothing to audit
    [entry] = status(world, "birds")["audits"]
    assert entry["scored"] and entry["result"] is None and "nothing to audit" in entry["note"]
    assert round_job(2) in jobs()
