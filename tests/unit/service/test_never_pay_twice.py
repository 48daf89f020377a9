"""Never pay twice: objects the chain labeled, or queued in an earlier round, are skipped when a round starts."""

import json
from typing import Any

from gtchain.domain.labeling_request import pricing_for
from gtchain.domain.spec import ChainSpec
from tests.groundtruth import (
    complete,
    input_lines,
    labeled_by,
    of_type,
    results,
    round_job,
    status,
)
from tests.support import DATA_BUCKET, manifest_lines
from tests.unit.service.world import World, drop, jobs


def _refs(lines: list[dict[str, Any]]) -> list[str]:
    return [line["source-ref"] for line in lines]


def _image(i: int) -> str:
    return f"s3://{DATA_BUCKET}/images/bird-{i:05d}.jpg"


def test_a_manifest_overlapping_an_earlier_one_skips_the_overlap_and_costs_exactly_that_much_less(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a chain whose first manifest (images 0-19) was labeled for 20 x $0.188 = $3.76, and a budget of $6
    spec_document.update(rounds=1, baseline=False, budgetUsd=6)
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/first.manifest", manifest_lines(20))
    complete(world, round_job(1))
    world.published()

    # When a second manifest overlaps it by 10 images (10-29)
    drop(world, "chains/birds/inbox/second.manifest", manifest_lines(20, start=10))

    # Then its round runs only the 10 new images, and the record lists what was skipped and why
    assert _refs(input_lines(world, round_job(2))) == [_image(i) for i in range(20, 30)]
    record = world.ports.store.get_round("birds", 2)
    assert record is not None and record.status == "running"
    assert (record.part_objects, record.objects, record.skipped_objects) == (20, 10, 10)
    assert [(s.round, s.objects) for s in record.skipped_from] == [(1, 10)]
    assert record.skipped_uri is not None
    listing = world.get(record.skipped_uri.removeprefix(f"s3://{DATA_BUCKET}/"))
    skipped = [json.loads(line) for line in listing.decode().splitlines()]
    assert skipped == [{"object": i + 1, "source-ref": _image(10 + i), "labeledInRound": 1} for i in range(10)]
    # And its worst case is lower by exactly the skipped objects' worst case: $3.76 - $1.88
    pricing = pricing_for(ChainSpec.model_validate(spec_document))
    assert (
        record.worst_case_usd == pricing.worst_case_usd(20) - pricing.worst_case_usd(10) == pricing.worst_case_usd(10)
    )
    # And the budget saw the smaller round: $3.76 spent + $3.76 would exceed $6, + $1.88 does not
    assert world.ports.store.get_chain("birds").state == "active"  # type: ignore[union-attr]
    [started] = of_type(world.published(), "Round Started")
    assert started["objects"] == 10 and started["skippedObjects"] == 10

    # When the round completes, the results carry the chain's earlier labels for the skipped images
    complete(world, round_job(2))
    lines = results(world, "birds", "second.manifest")
    assert _refs(lines) == [_image(i) for i in range(10, 30)]
    assert [labeled_by(line) for line in lines] == [round_job(1)] * 10 + [round_job(2)] * 10
    [completed] = of_type(world.published(), "Manifest Completed")
    assert (completed["skipped"], completed["human"], completed["costUsd"]) == (10, 10, "1.88")


def test_objects_queued_in_an_earlier_round_are_skipped_and_a_round_with_nothing_left_needs_no_job(
    world: World, spec_document: dict[str, Any]
) -> None:
    # Given a first manifest whose second round (images 10-19) is still queued behind its first
    spec_document.update(rounds=2, baseline=False)
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/first.manifest", manifest_lines(20))

    # When a second manifest of images 15-24 arrives (rounds 3: 15-19 and 4: 20-24)
    drop(world, "chains/birds/inbox/second.manifest", manifest_lines(10, start=15))
    complete(world, round_job(1))
    complete(world, round_job(2))

    # Then round 3 completes without a job (round 2 labeled all of it) and round 4 runs its own images
    assert sorted(job.name for job in jobs().values()) == sorted(round_job(n) for n in (1, 2, 4))
    third = world.ports.store.get_round("birds", 3)
    assert third is not None and third.status == "completed" and third.job is None
    assert (third.skipped_objects, [(s.round, s.objects) for s in third.skipped_from]) == (5, [(2, 5)])
    assert _refs(input_lines(world, round_job(4))) == [_image(i) for i in range(20, 25)]
    assert any(t["event"] == "round completed without a job" for t in status(world, "birds")["transitions"])

    # And the second manifest's results take images 15-19 from round 2
    complete(world, round_job(4))
    lines = results(world, "birds", "second.manifest")
    assert [labeled_by(line) for line in lines] == [round_job(2)] * 5 + [round_job(4)] * 5


def test_relabel_true_labels_objects_again(world: World, spec_document: dict[str, Any]) -> None:
    spec_document.update(rounds=1, baseline=False)
    drop(world, "chains/birds/chain.json", json.dumps(spec_document))
    drop(world, "chains/birds/inbox/first.manifest", manifest_lines(10))
    complete(world, round_job(1))
    drop(world, "chains/birds/chain.json", json.dumps(spec_document | {"relabel": True}))

    drop(world, "chains/birds/inbox/again.manifest", manifest_lines(10))

    assert len(input_lines(world, round_job(2))) == 10
    record = world.ports.store.get_round("birds", 2)
    assert record is not None and record.skipped_objects == 0 and record.objects == 10
    complete(world, round_job(2))
    assert {labeled_by(line) for line in results(world, "birds", "again.manifest")} == {round_job(2)}
