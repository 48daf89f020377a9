"""The emulated Ground Truth's learning loop: the schedule AWS documents, a real learner, real artifacts."""

import numpy as np
import pytest

from local.groundtruth import artifacts
from local.groundtruth.formats import PixelBoxes
from local.groundtruth.learner import BoxLabels, Classifier, object_scores
from local.groundtruth.loop import (
    ActiveLearningRun,
    ClassificationKit,
    DetectionKit,
    RunConfig,
    choose_threshold,
    validation_size,
)
from local.groundtruth.workers import consolidate_boxes

IDS = [f"s3://bucket/images/{i:05d}.jpg" for i in range(6000)]


def schedule(run: ActiveLearningRun) -> list[tuple[str, int, int]]:
    """(kind, objects sent to humans (labeled or failed), objects auto-labeled) per iteration."""
    return [
        (
            it.kind,
            (0 if it.human is None else len(it.human.index)) + (0 if it.failed is None else len(it.failed.index)),
            0 if it.machine is None else len(it.machine.index),
        )
        for it in run.iterations()
    ]


def test_validation_is_a_fifth_below_5000_objects_and_a_tenth_above() -> None:
    assert validation_size(1250) == 250
    assert validation_size(4999) == 1000
    assert validation_size(5000) == 500


def test_a_cold_start_sends_probe_training_and_validation_batches_to_humans_first() -> None:
    run = ActiveLearningRun(ClassificationKit(("a", "b", "c")), IDS[:1250], RunConfig(3, 200, True, None, 1))
    steps = schedule(run)
    # Probe 10, training 200 - 10, validation 250 in batches of at most 200, then active learning
    assert steps[:4] == [("probe", 10, 0), ("training", 190, 0), ("validation", 200, 0), ("validation", 50, 0)]
    assert {kind for kind, _, _ in steps[4:]} == {"active-learning"}
    assert all(human <= 200 for _, human, _ in steps)
    # And every object ends up labeled (or failed) exactly once, the machine share coming from the loop
    assert (run.labeled_by > 0).all()
    assert sum(h + m for _, h, m in steps) == 1250
    assert run.final_model is not None


def test_a_warm_start_skips_the_training_batch_and_auto_labels_with_the_initial_model() -> None:
    kit = ClassificationKit(("a", "b", "c"))
    first = ActiveLearningRun(kit, IDS[:1250], RunConfig(3, 200, True, None, 1))
    schedule(first)
    warm = ActiveLearningRun(kit, IDS[1250:2500], RunConfig(3, 200, True, first.final_model, 2))
    steps = schedule(warm)
    assert steps[:3] == [("probe", 10, 0), ("validation", 200, 0), ("validation", 50, 0)]
    assert steps[3][0] == "active-learning" and steps[3][2] > 0


@pytest.mark.parametrize(("objects", "auto_labeling"), [(1249, True), (1500, False)])
def test_no_auto_labeling_under_1250_objects_or_without_an_algorithm(objects: int, auto_labeling: bool) -> None:
    run = ActiveLearningRun(DetectionKit(("Bird",)), IDS[:objects], RunConfig(3, 500, auto_labeling, None, 1))
    steps = schedule(run)
    assert {kind for kind, _, _ in steps} == {"human"}
    assert [human for _, human, _ in steps] == [500, 500, objects - 1000]
    assert run.final_model is None


def test_the_threshold_is_the_lowest_confidence_that_keeps_the_target() -> None:
    confidence = np.linspace(1.0, 0.01, 100)
    correct = np.array([1.0] * 60 + [0.0] * 40)
    # 60 right, then wrong: the running accuracy stays >= 95% up to 63 objects (60/63)
    assert choose_threshold(confidence, correct, 0.95) == pytest.approx(confidence[62])
    assert choose_threshold(confidence, np.zeros(100), 0.95) == np.inf


def test_machine_labels_meet_the_target_they_were_chosen_for() -> None:
    # Boxes: the auto-labeled objects' mean IoU against the world's truth is near Ground Truth's 0.6
    run = ActiveLearningRun(DetectionKit(("Bird",)), IDS[:1250], RunConfig(3, 200, True, None, 5))
    schedule(run)
    machine = np.nonzero(run.labeled_by == 2)[0]
    assert len(machine) > 100
    predicted = BoxLabels.pack([run.stored[i] for i in machine])
    objects = run.objects
    truth = BoxLabels.pack(
        [(objects.boxes[i, : objects.counts[i]], objects.classes[i, : objects.counts[i]]) for i in machine]
    )
    assert object_scores(predicted, truth).mean() > 0.55


def test_a_model_round_trips_through_model_tar_gz_and_refuses_another_task() -> None:
    run = ActiveLearningRun(ClassificationKit(("a", "b")), IDS[:1300], RunConfig(1, 1000, True, None, 3))
    schedule(run)
    model = run.final_model
    assert isinstance(model, Classifier)
    info = artifacts.ModelInfo("image-classification", ("a", "b"), 500, "job", 4)
    loaded, description = artifacts.unpack(
        artifacts.pack(model, info), algorithm="image-classification", labels=("a", "b")
    )
    features = run.objects.features[:50]
    assert np.array_equal(loaded.predict(features)[0], model.predict(features)[0])  # type: ignore[arg-type]
    assert description["trainingSamples"] == 500
    with pytest.raises(artifacts.ModelMismatchError, match="labels"):
        artifacts.unpack(artifacts.pack(model, info), algorithm="image-classification", labels=("a", "c"))
    with pytest.raises(artifacts.ModelMismatchError, match="object-detection"):
        artifacts.unpack(artifacts.pack(model, info), algorithm="object-detection", labels=("a", "b"))


def test_consolidation_keeps_boxes_most_workers_drew() -> None:
    def boxes(*drawn: tuple[int, int, int, int]) -> PixelBoxes:
        return PixelBoxes(list(drawn), [0] * len(drawn), [0.0] * len(drawn))

    answers = [
        boxes((101, 101, 300, 300), (700, 700, 100, 100)),
        boxes((99, 99, 300, 300)),
        boxes((100, 100, 300, 300)),
    ]
    merged = consolidate_boxes(answers)
    # The stray box one worker drew is dropped; the bird's box is the workers' average, in pixels
    assert merged.boxes == [(100, 100, 300, 300)] and merged.classes == [0]
    assert 0.8 < merged.confidence[0] < 1.0
