"""Training curves from the training jobs' logs; a missing log is a warning, never an error."""

from gtchain.domain.report.curves import curve_from_messages
from gtchain.domain.report.parse import TrainingJobRef
from gtchain.service.report.output import training_curves
from tests.fakes import FakeLogs
from tests.fixtures.job_outputs import training_log_messages


def test_the_sample_count_and_one_value_per_epoch_are_read_as_the_notebook_reads_them() -> None:
    curve = curve_from_messages(TrainingJobRef(4, "t4"), iter(training_log_messages(190, [0.1, 0.25, 0.4125])))

    assert (curve.iteration, curve.training_job_name, curve.samples) == (4, "t4", 190)
    assert (curve.metric, curve.values) == ("validation mAP", [0.1, 0.25, 0.4125])


def test_image_classification_accuracy_is_a_curve_too() -> None:
    messages = ["Epoch[0] Validation-accuracy=0.500000", "Epoch[1] Validation-accuracy=0.812500"]

    curve = curve_from_messages(TrainingJobRef(5, "t5"), iter(messages))

    assert (curve.samples, curve.metric, curve.values) == (None, "validation accuracy", [0.5, 0.8125])


def test_semantic_segmentation_mean_iou_is_the_curve_and_pixel_accuracy_is_not_mistaken_for_it() -> None:
    # The algorithm's validation:mIOU (semantic-segmentation-tuning.html), beside validation:pixel_accuracy
    messages = [
        "#quality_metric: host=algo-1, epoch=0, validation mIOU <score>=(0.412000)",
        "#quality_metric: host=algo-1, epoch=0, validation pixel_accuracy <score>=(0.901000)",
        "#quality_metric: host=algo-1, epoch=1, validation mIOU <score>=(0.655000)",
        "#quality_metric: host=algo-1, epoch=1, validation pixel_accuracy <score>=(0.950000)",
    ]

    curve = curve_from_messages(TrainingJobRef(3, "t3"), iter(messages))

    assert (curve.metric, curve.values) == ("validation mIOU", [0.412, 0.655])


def test_jobs_without_a_log_or_a_metric_give_a_warning_and_no_curve() -> None:
    # Given three training jobs: one logged (a stream of a job whose name extends it must not be taken),
    # one never logged, one logged nothing useful
    logs = FakeLogs({
        "t4/algo-1-1764000000": training_log_messages(190, [0.2, 0.3]),
        "t40/algo-1-1764000000": training_log_messages(999, [0.9]),
        "t6/algo-1-1764000000": ["Reading default configuration"],
    })  # fmt: skip
    refs = [TrainingJobRef(4, "t4"), TrainingJobRef(5, "t5"), TrainingJobRef(6, "t6")]

    curves, warnings = training_curves(logs, refs)

    assert [(c.training_job_name, c.samples, c.values) for c in curves] == [("t4", 190, [0.2, 0.3])]
    assert warnings == [
        "training job t5 (iteration 5) has no log in CloudWatch; no curve",
        "training job t6 (iteration 6) logged no validation metric",
    ]
