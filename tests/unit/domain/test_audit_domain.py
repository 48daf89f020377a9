"""domain.audit alone: the sample, the judgements, the accuracy and its interval against hand-computed values, the
audit job's request, and chain.json's `audit`."""

import json
import re
from decimal import Decimal
from typing import Any

import botocore.session
import pytest

from gtchain.domain.audit import (
    Judged,
    MachineLabel,
    build_audit_request,
    draw,
    judged,
    machine_label,
    sample_seed,
    score,
    wilson,
)
from gtchain.domain.records import AuditJob
from gtchain.domain.spec import ChainSpec, parse_chain_spec
from gtchain.domain.tasks import BUILTIN_LAMBDA_ACCOUNTS, verification_lambda_arns
from tests.support import ROOT


def _spec_document(**changes: Any) -> dict[str, Any]:
    return json.loads((ROOT / "tests" / "data" / "chain.json").read_text()) | changes


# ---- the interval --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agreed", "audited", "lower", "upper"),
    [
        # 17/20: p = 0.85, z^2 = 3.8415; centre (0.85 + 3.8415/40) / (1 + 3.8415/20) = 0.79362;
        # half 1.96 x sqrt(0.85 x 0.15/20 + 3.8415/1600) / 1.19207 = 0.15403
        (17, 20, "0.6396", "0.9476"),
        (90, 100, "0.8256", "0.9448"),  # the textbook value
        (20, 20, "0.8389", "1.0000"),  # all agreed: the lower bound is n / (n + z^2) = 20 / 23.8415
        (0, 20, "0.0000", "0.1611"),  # none: the upper bound is z^2 / (n + z^2)
        (0, 0, "0", "1"),  # nothing audited: nothing known
    ],
)
def test_the_95_percent_wilson_interval(agreed: int, audited: int, lower: str, upper: str) -> None:
    assert wilson(agreed, audited) == (Decimal(lower), Decimal(upper))


def test_accuracy_per_class_where_at_least_ten_were_audited_and_the_bar() -> None:
    judgements = ([Judged(True, ("Gull",))] * 11 + [Judged(False, ("Gull",))]  # 12 Gulls, 11 agreed
                  + [Judged(True, ("Pigeon",))] * 7 + [Judged(False, ("Pigeon",))] * 3  # 10 Pigeons, 7 agreed
                  + [Judged(True, ("Sparrow",))] * 9)  # 9 Sparrows: too few for a row  # fmt: skip
    result = score(judgements, Decimal("0.8"))
    assert (result.audited, result.agreed, result.accuracy) == (31, 27, Decimal("0.8710"))
    assert (result.lower, result.upper) == wilson(27, 31) == (Decimal("0.7115"), Decimal("0.9487"))
    assert [(c.name, c.audited, c.agreed, c.accuracy) for c in result.classes] == [
        ("Gull", 12, 11, Decimal("0.9167")), ("Pigeon", 10, 7, Decimal("0.7000"))]  # fmt: skip
    assert (result.classes[1].lower, result.classes[1].upper) == wilson(7, 10) == (Decimal("0.3968"), Decimal("0.8922"))
    assert result.below_bar  # 0.7115 < 0.8
    assert not score(judgements, Decimal("0.7")).below_bar
    assert not score(judgements, None).below_bar
    # A box set with boxes of two classes counts in both
    assert [c.audited for c in score([Judged(True, ("Bird", "Feeder"))] * 10, None).classes] == [10, 10]
    # Nothing judged (every task expired): no accuracy, and a bar is not cleared
    empty = score([], Decimal("0.5"))
    assert (empty.audited, empty.accuracy, empty.lower, empty.below_bar) == (0, None, None, True)


# ---- the sample ----------------------------------------------------------------------------------------------------


def _labels(count: int) -> list[MachineLabel]:
    return [MachineLabel(i.to_bytes(16, "big"), round((i * 11 % count) / count, 4)) for i in range(count)]


def test_the_sample_is_stratified_by_confidence_in_proportion_and_the_same_for_a_seed() -> None:
    labels = _labels(1000)
    chosen = draw(labels, 100, sample_seed("gtchain-birds-a1b2c3-r1-a1"))
    assert len(chosen) == len(set(chosen)) == 100
    confidences = sorted(labels[i].confidence for i in chosen)
    assert [sum(1 for c in confidences if k / 4 <= c < (k + 1) / 4) for k in range(4)] == [25, 25, 25, 25]
    assert draw(labels, 100, sample_seed("gtchain-birds-a1b2c3-r1-a1")) == chosen
    assert draw(labels, 100, sample_seed("gtchain-birds-a1b2c3-r1-a2")) != chosen
    # the line order does not matter: the same objects are drawn
    shuffled = labels[500:] + labels[:500]
    again = draw(shuffled, 100, sample_seed("gtchain-birds-a1b2c3-r1-a1"))
    assert sorted(shuffled[i].digest for i in again) == sorted(labels[i].digest for i in chosen)
    # strata of 9, 9, 9, 10 objects: a sample of 10 owes them 2.43, 2.43, 2.43, 2.70; each takes 2, and the two left
    # go to the largest remainders (the last stratum, then the lowest of the tied ones): 3, 2, 2, 3
    uneven = _labels(37)
    picked = sorted(uneven[i].confidence for i in draw(uneven, 10, 7))
    bounds = sorted(label.confidence for label in uneven)
    cuts = [bounds[9], bounds[18], bounds[27]]
    assert [sum(1 for c in picked if lo <= c < hi) for lo, hi in zip([0, *cuts], [*cuts, 2], strict=True)] == [
        3, 2, 2, 3]  # fmt: skip
    # all of them when there are no more than the sample
    assert draw(uneven, 37, 7) == draw(uneven, 100, 7) == list(range(37))


def test_only_machine_labels_are_drawn_with_their_confidence() -> None:
    def line(human: str, **metadata: Any) -> dict[str, Any]:
        return {"source-ref": "s3://b/1.jpg", "category": {"annotations": []},
                "category-metadata": {"human-annotated": human, **metadata}}  # fmt: skip

    assert machine_label(line("yes", confidence=0.9), "category") is None
    assert machine_label(line("no", objects=[{"confidence": 0.4}, {"confidence": 0.8}]), "category").confidence == (
        pytest.approx(0.6))  # type: ignore[union-attr]  # fmt: skip
    assert machine_label(line("no", confidence=0.55), "category").confidence == 0.55  # type: ignore[union-attr]
    failed = {"source-ref": "s3://b/1.jpg", "category-metadata": {"failure-reason": "x"}}
    assert machine_label(failed, "category") is None


def test_a_judgement_is_read_from_the_documented_verification_output_and_from_a_relabel() -> None:
    # The example on https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-manifest.html
    documented = {"source-ref": "S3 bucket location", "verify-bounding-box": "1", "verify-bounding-box-metadata": {
        "class-name": "bad", "confidence": 0.93, "type": "groundtruth/label-verification",
        "job-name": "verify-bounding-boxes", "human-annotated": "yes", "creation-date": "2018-10-18T22:18:13.527256",
        "worker-feedback": [{"comment": "The bounding box on the bird is too wide on the right side."}]}}  # fmt: skip
    assert judged(documented, "category", "verify-bounding-box", "verification") == Judged(False, ())
    without_name = {"verify-bounding-box": "0", "verify-bounding-box-metadata": {}}
    assert judged(without_name, "category", "verify-bounding-box", "verification") == Judged(True, ())
    relabel = {"category": 1, "category-metadata": {"class-name": "Pigeon"},
               "category-audit": 2, "category-audit-metadata": {"class-name": "Gull"}}  # fmt: skip
    assert judged(relabel, "category", "category-audit", "relabel") == Judged(False, ("Pigeon",))
    expired = {"category": 1, "category-metadata": {"class-name": "Pigeon"},
               "category-audit-metadata": {"failure-reason": "ClientError: Annotation tasks expired."}}  # fmt: skip
    assert judged(expired, "category", "category-audit", "relabel") is None


# ---- the job -------------------------------------------------------------------------------------------------------


def test_the_verification_lambdas_are_the_service_models_in_every_region() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    documented = {
        kind: dict(re.findall(rf"arn:aws:lambda:([a-z0-9-]+):(\d{{12}}):function:{kind}-VerificationBoundingBox\b",
                              doc))
        for kind, doc in (
            ("PRE", model.shape_for("HumanTaskConfig").members["PreHumanTaskLambdaArn"].documentation),
            ("ACS", model.shape_for("AnnotationConsolidationConfig").members["AnnotationConsolidationLambdaArn"]
             .documentation),
        )
    }  # fmt: skip
    for region in BUILTIN_LAMBDA_ACCOUNTS:
        pre, acs = verification_lambda_arns(region)
        assert pre == f"arn:aws:lambda:{region}:{documented['PRE'][region]}:function:PRE-VerificationBoundingBox"
        assert acs == f"arn:aws:lambda:{region}:{documented['ACS'][region]}:function:ACS-VerificationBoundingBox"


def test_the_audit_request_for_boxes_and_for_classification() -> None:
    boxes = ChainSpec.model_validate(_spec_document(audit={"sampleSize": 50}))
    audit = AuditJob(name="gtchain-birds-a1b2c3-r2a-a1", kind="verification",
                     audited_job="gtchain-birds-a1b2c3-r2-a1", label_attribute="category-audit", objects=50,
                     machine_labeled=600, input_uri="s3://d/audit.manifest")  # fmt: skip
    common = {"region": "eu-west-1", "role_arn": "arn:aws:iam::123456789012:role/gt", "output_uri": "s3://d/jobs",
              "ui_template_uri": "s3://d/ui.html", "label_config_uri": "s3://d/labels.json", "tags": []}  # fmt: skip
    request = build_audit_request(audit=audit, spec=boxes, **common)
    human = request["HumanTaskConfig"]
    functions = "arn:aws:lambda:eu-west-1:568282634449:function"
    assert human["PreHumanTaskLambdaArn"] == f"{functions}:PRE-VerificationBoundingBox"
    assert human["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"].endswith(
        ":function:ACS-VerificationBoundingBox")  # fmt: skip
    assert request["LabelAttributeName"] == "category-audit"
    assert request["LabelCategoryConfigS3Uri"] == "s3://d/labels.json"  # the chain's own categories
    assert request["InputConfig"]["DataSource"]["S3DataSource"]["ManifestS3Uri"] == "s3://d/audit.manifest"
    assert "LabelingJobAlgorithmsConfig" not in request and len(human["TaskDescription"]) <= 255
    classes = ChainSpec.model_validate(_spec_document(
        task="image-classification", labels=["Sparrow", "Pigeon"], audit={"sampleSize": 50}))  # fmt: skip
    relabel = build_audit_request(audit=audit.model_copy(update={"kind": "relabel"}), spec=classes, **common)
    assert relabel["HumanTaskConfig"]["PreHumanTaskLambdaArn"].endswith(":function:PRE-ImageMultiClass")
    assert relabel["HumanTaskConfig"]["TaskTitle"] == classes.instructions.title  # blind: nothing says "audit"
    assert "LabelingJobAlgorithmsConfig" not in relabel


# ---- chain.json ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"audit": {"sampleSize": 19}}, "audit.sampleSize", "greater than or equal to 20"),
        ({"audit": {"sampleSize": 1001}}, "audit.sampleSize", "less than or equal to 1000"),
        ({"audit": {"sampleSize": 100.0}}, "audit.sampleSize", "valid integer"),
        ({"audit": {}}, "audit.sampleSize", "Field required"),
        ({"audit": {"sampleSize": 100, "minAccuracy": 1.5}}, "audit.minAccuracy", "less than or equal to 1"),
        ({"audit": {"sampleSize": 100, "minAccuracy": True}}, "audit.minAccuracy", "not true"),
        ({"audit": {"sampleSize": 100, "minAccuracy": 0.12345}}, "audit.minAccuracy", "4 decimal places"),
        ({"audit": {"sampleSize": 100, "minAcuracy": 0.9}}, "audit.minAcuracy", "did you mean `audit.minAccuracy`?"),
        ({"audit": {"sampleSize": 100}, "autoLabeling": False}, "audit", "with autoLabeling false there are none"),
        ({"audit": {"sampleSize": 100}, "task": "semantic-segmentation", "labelAttributeName": "category-ref",
          "workforce": {"type": "private", "workteamArn": "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/t"}},  # noqa: E501
         "audit", "not available for semantic-segmentation"),
        ({"audit": {"sampleSize": 100}, "labelAttributeName": "c" * 122}, "audit", "at most 121 characters"),
    ],
)  # fmt: skip
def test_audit_in_chain_json_is_validated_like_every_field(changes: dict[str, Any], field: str, message: str) -> None:
    spec, issues = parse_chain_spec(json.dumps(_spec_document(**changes), indent=2).encode())
    assert spec is None
    [issue] = issues
    assert issue.field == field and message in issue.message and issue.line is not None


def test_audit_is_optional_and_min_accuracy_too() -> None:
    assert ChainSpec.model_validate(_spec_document()).audit is None
    spec = ChainSpec.model_validate(_spec_document(audit={"sampleSize": 20}))
    assert spec.audit is not None and (spec.audit.sample_size, spec.audit.min_accuracy) == (20, None)
    bar = ChainSpec.model_validate(_spec_document(audit={"sampleSize": 1000, "minAccuracy": 0.95}))
    assert bar.audit is not None and bar.audit.min_accuracy == Decimal("0.95")
