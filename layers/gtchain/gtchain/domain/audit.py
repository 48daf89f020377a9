"""Audits of machine labels: can the labels the carried model made be trusted? (docs/lifecycle-and-operations.md)

After a round completes with machine-labeled objects, and chain.json asks for it (`audit`), humans check a sample of
them, as Ground Truth's guide advises for automated labels
(https://docs.aws.amazon.com/sagemaker/latest/dg/sms-automated-labeling.html: check a random sample of them):

- bounding boxes: Ground Truth's bounding box verification task. Workers see the machine's boxes and judge the set
  good or bad; the job's LabelAttributeName must differ from the original's and its label categories be the same
  (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-start-api.html), and its input lines carry the
  labels to verify (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-adjust-prereq.html). Its output
  holds `<attr>-metadata` with `type` `groundtruth/label-verification` and the verdict as `class-name`
  (https://docs.aws.amazon.com/sagemaker/latest/dg/sms-data-verify-manifest.html). A machine label agrees when the
  consolidated verdict is "good".
- image and text classification: a blind relabel, a job of the chain's own task type without auto-labeling (the
  worker template shows only the object); a machine label agrees when the consolidated human label is the same class.

The sample is drawn from the round's machine-labeled objects only, `sampleSize` of them (all when there are fewer),
stratified by the machine label's confidence: the objects sorted by confidence make STRATA strata of equal size, each
sampled in proportion (so low-confidence labels are represented, and agreed / audited still estimates the accuracy of
all of them without weights). The draw is seeded by the audited job's name: a retry draws the same sample.

accuracy = agreed / audited, with the 95% Wilson score interval, and per class (the classes the machine label shows)
where at least MIN_CLASS_AUDITED objects were audited. With `minAccuracy`, the next round waits for the audit, and an
interval whose lower bound is below the bar pauses the chain and marks the round's machine-labeled result lines.

Pure: every function here works on what it is given.
"""

import hashlib
import json
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from gtchain.domain.labeling_request import build_request, pricing_for
from gtchain.domain.manifest import AUTO_LABELING_MIN_OBJECTS, source_digest
from gtchain.domain.records import AuditJob, AuditResult, ClassAccuracy, RoundRecord, RoundStatus
from gtchain.domain.report.parse import label_classes
from gtchain.domain.spec import AUDIT_SUFFIX, ChainSpec
from gtchain.domain.tasks import TaskType, verification_lambda_arns

AuditKind = Literal["verification", "relabel"]

# The verification task's categories: the guide's example verdict is "class-name": "bad".
VERDICTS = ("good", "bad")
VERIFICATION_TYPE = "groundtruth/label-verification"
STRATA = 4
MIN_CLASS_AUDITED = 10
Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
FOUR_PLACES = Decimal("0.0001")
# On each machine-labeled line of a round whose audit fell below the bar, in the results manifest.
AUDIT_MARK = "gtchain-audit"
BELOW_BAR = "below-bar"
VERIFICATION_DESCRIPTION = (
    "Judge the boxes drawn on the image: good when every object is boxed tightly with its label and nothing else "
    "is boxed, bad otherwise."
)
_LIVE = (RoundStatus.STARTING, RoundStatus.RUNNING)
_ENDED = (RoundStatus.FAILED, RoundStatus.STOPPED)


def audit_kind(task: TaskType) -> AuditKind:
    return "verification" if task == TaskType.BOUNDING_BOX else "relabel"


def audit_attribute(spec: ChainSpec) -> str:
    return spec.label_attribute_name + AUDIT_SUFFIX


# ---- the sample ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MachineLabel:
    """A machine-labeled line of the audited job's output manifest: its object (16 bytes) and confidence."""

    digest: bytes
    confidence: float


def machine_label(obj: Any, attribute: str) -> MachineLabel | None:
    """The line's machine label (`human-annotated: "no"`), or None (a human label, a failure, no label). Its
    confidence: a classification label's `confidence`, a box set's mean box `confidence` (0 without boxes)."""
    if not isinstance(obj, dict) or attribute not in obj:
        return None
    metadata = obj.get(f"{attribute}-metadata")
    source = obj.get("source-ref", obj.get("source"))
    if not isinstance(metadata, dict) or metadata.get("human-annotated") != "no" or not isinstance(source, str):
        return None
    if isinstance(metadata.get("objects"), list):
        scores = [_number(box.get("confidence")) for box in metadata["objects"] if isinstance(box, dict)]
        confidence = sum(scores) / len(scores) if scores else 0.0
    else:
        confidence = _number(metadata.get("confidence"))
    return MachineLabel(source_digest(source), confidence)


def machine_labeled(members: dict[str, Any], attribute: str) -> bool:
    """An output line's label (its `<attr>` and `<attr>-metadata`) was made by the model."""
    metadata = members.get(f"{attribute}-metadata")
    return attribute in members and isinstance(metadata, dict) and metadata.get("human-annotated") == "no"


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def sample_seed(audited_job: str) -> int:
    return int.from_bytes(hashlib.sha256(audited_job.encode()).digest()[:8], "big")


def draw(labels: Sequence[MachineLabel], size: int, seed: int, strata: int = STRATA) -> list[int]:
    """Indices (ascending) of `size` of `labels` (all of them when there are no more): the labels sorted by
    confidence (then by object, so the order of the lines does not matter) make `strata` strata of equal size,
    each sampled in proportion to its size (largest remainders), at random from `seed`."""
    count = len(labels)
    if count <= size:
        return list(range(count))
    order = sorted(range(count), key=lambda i: (labels[i].confidence, labels[i].digest))
    parts = min(strata, size)
    bounds = [count * k // parts for k in range(parts + 1)]
    groups = [order[bounds[k] : bounds[k + 1]] for k in range(parts)]
    quotas = [size * len(group) // count for group in groups]
    by_remainder = sorted(range(parts), key=lambda k: (-(size * len(groups[k]) % count), k))
    for k in by_remainder[: size - sum(quotas)]:
        quotas[k] += 1
    rng = random.Random(seed)
    chosen: list[int] = []
    for group, quota in zip(groups, quotas, strict=True):
        chosen.extend(rng.sample(group, quota))
    return sorted(chosen)


def sample_line(obj: dict[str, Any], attribute: str) -> dict[str, Any]:
    """What the audit job gets of a sampled output line: the object and its machine label (a verification job
    verifies the label its input line carries; the relabel's worker template shows the object alone)."""
    keys = ("source-ref", "source", attribute, f"{attribute}-metadata")
    return {key: obj[key] for key in keys if key in obj}


# ---- the job ---------------------------------------------------------------------------------------------------


def build_audit_request(
    *, audit: AuditJob, spec: ChainSpec, region: str, role_arn: str, output_uri: str, ui_template_uri: str,
    label_config_uri: str, tags: list[dict[str, str]],
) -> dict[str, Any]:  # fmt: skip
    """CreateLabelingJob for the audit: the chain's workforce, workers, price and limits; its own LabelAttributeName;
    no auto-labeling. A verification job runs the verification Lambdas with the verification worker template."""
    as_audit = spec.model_copy(update={"auto_labeling": False, "label_attribute_name": audit.label_attribute})
    request = build_request(
        name=audit.name, spec=as_audit, region=region, role_arn=role_arn, input_uri=audit.input_uri,
        output_uri=output_uri, ui_template_uri=ui_template_uri, label_config_uri=label_config_uri,
        initial_model_arn=None, tags=tags,
    )  # fmt: skip
    if audit.kind == "verification":
        human = request["HumanTaskConfig"]
        human["PreHumanTaskLambdaArn"], consolidation = verification_lambda_arns(region)
        human["AnnotationConsolidationConfig"] = {"AnnotationConsolidationLambdaArn": consolidation}
        human["TaskTitle"] = f"Are these boxes right? {spec.instructions.title}"[:128]
        human["TaskDescription"] = VERIFICATION_DESCRIPTION
    return request


# ---- the measurement -------------------------------------------------------------------------------------------


def four(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)


def wilson(agreed: int, audited: int, z: float = Z_95) -> tuple[Decimal, Decimal]:
    """The Wilson score interval of agreed / audited, to 4 places; (0, 1) when nothing was audited."""
    if audited == 0:
        return Decimal(0), Decimal(1)
    p = agreed / audited
    z2 = z * z
    centre = (p + z2 / (2 * audited)) / (1 + z2 / audited)
    half = z * math.sqrt(p * (1 - p) / audited + z2 / (4 * audited * audited)) / (1 + z2 / audited)
    return four(max(0.0, centre - half)), four(min(1.0, centre + half))


@dataclass(frozen=True)
class Judged:
    """One audited object: did the machine label hold, and which classes it shows."""

    agreed: bool
    classes: tuple[str, ...]


def judged(obj: Any, attribute: str, audit_label: str, kind: AuditKind) -> Judged | None:
    """An audit job's output line: None when the object was not judged (its tasks failed)."""
    if not isinstance(obj, dict) or audit_label not in obj:
        return None
    verdict = obj.get(f"{audit_label}-metadata")
    verdict = verdict if isinstance(verdict, dict) else {}
    machine = obj.get(f"{attribute}-metadata")
    machine = machine if isinstance(machine, dict) else {}
    classes = tuple(sorted(set(label_classes(obj.get(attribute), machine))))
    if kind == "verification":
        name = verdict.get("class-name")
        if not isinstance(name, str):
            value = obj[audit_label]
            index = int(value) if isinstance(value, (int, str)) and str(value).isdecimal() else None
            name = VERDICTS[index] if index is not None and index < len(VERDICTS) else None
        return None if name is None else Judged(name == VERDICTS[0], classes)
    human, label = verdict.get("class-name"), machine.get("class-name")
    if not isinstance(human, str) or not isinstance(label, str):
        return None
    return Judged(human == label, classes)


def score(judgements: Iterable[Judged], min_accuracy: Decimal | None) -> AuditResult:
    audited = agreed = 0
    per_class: dict[str, list[int]] = {}
    for judgement in judgements:
        audited += 1
        agreed += judgement.agreed
        for name in judgement.classes:
            counts = per_class.setdefault(name, [0, 0])
            counts[0] += 1
            counts[1] += judgement.agreed
    lower, upper = wilson(agreed, audited)
    classes = [
        ClassAccuracy(name=name, audited=n, agreed=k, accuracy=four(k / n), lower=lo, upper=hi)
        for name, (n, k) in sorted(per_class.items())
        if n >= MIN_CLASS_AUDITED
        for lo, hi in [wilson(k, n)]
    ]
    return AuditResult(
        audited=audited, agreed=agreed, accuracy=four(agreed / audited) if audited else None,
        lower=lower if audited else None, upper=upper if audited else None, classes=classes,
        below_bar=min_accuracy is not None and lower < min_accuracy,
    )  # fmt: skip


def score_lines(lines: Iterable[bytes], attribute: str, audit: AuditJob) -> AuditResult:
    """Score an audit job's output manifest."""

    def judgements() -> Iterable[Judged]:
        for line in lines:
            try:
                found = judged(json.loads(line), attribute, audit.label_attribute, audit.kind)
            except ValueError:
                continue
            if found is not None:
                yield found

    return score(judgements(), audit.min_accuracy)


# ---- where a round's audit stands --------------------------------------------------------------------------------


def audit_due(record: RoundRecord) -> bool:
    """The round completed with machine labels, chain.json asked for an audit then, and none was started."""
    job, spec = record.job, record.spec
    return (
        record.status == RoundStatus.COMPLETED and record.audit is None and spec is not None
        and spec.audit is not None and job is not None and job.status == RoundStatus.COMPLETED
        and job.counters is not None and job.counters.machine_labeled > 0
    )  # fmt: skip


def audit_bar(record: RoundRecord) -> Decimal | None:
    if record.audit is not None:
        return record.audit.min_accuracy
    return record.spec.audit.min_accuracy if record.spec is not None and record.spec.audit is not None else None


def audit_in(audit: AuditJob) -> bool:
    """Scored, or ended without a result (failed or stopped): nothing more will come of it."""
    return audit.scored or audit.status in _ENDED


def gate_pending(record: RoundRecord) -> bool:
    """With a bar (minAccuracy), the round's audit is due or not in yet: later rounds wait, and so do results."""
    if audit_bar(record) is None:
        return False
    return audit_due(record) or (record.audit is not None and not audit_in(record.audit))


def gate_waits(rounds: Iterable[RoundRecord], number: int) -> RoundRecord | None:
    """The earlier round whose audit round `number` must wait for, if any."""
    return next((r for r in sorted(rounds, key=lambda r: r.number) if r.number < number and gate_pending(r)), None)


def marked_below_bar(record: RoundRecord) -> bool:
    """The round's audit fell below its bar: its job's machine-labeled result lines carry AUDIT_MARK."""
    audit, job = record.audit, record.job
    return (
        audit is not None and audit.result is not None and audit.result.below_bar and job is not None
        and audit.audited_job == job.name
    )  # fmt: skip


def _pct(value: Decimal | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def below_bar_reason(number: int, audit: AuditJob, result: AuditResult) -> str:
    measured = (
        f"{_pct(result.accuracy)} accurate (95% interval {_pct(result.lower)} to {_pct(result.upper)}; "
        f"{result.agreed} of {result.audited} audited objects agreed)"
        if result.audited else "not measured (no sampled object was judged)"
    )  # fmt: skip
    return (
        f"audit: round {number}'s machine labels are {measured}, below minAccuracy {audit.min_accuracy} "
        f"(audit job {audit.name}). Its machine-labeled lines in the results are marked "
        f'"{AUDIT_MARK}": "{BELOW_BAR}". Resume (chain.json "state": "active", or gtchain resume) to go on'
    )


def failed_audit_reason(number: int, audit: AuditJob) -> str:
    return (
        f"audit: the audit of round {number} ({audit.name}) {audit.status.value}: "
        f"{audit.failure_reason or 'no reason given'}; minAccuracy {audit.min_accuracy} waits for it. "
        'Resume (chain.json "state": "active", or gtchain resume) to go on without it'
    )


# ---- what audits cost ----------------------------------------------------------------------------------------------


def audit_worst_case_usd(spec: ChainSpec, objects: int) -> Decimal:
    """What a round's audit can cost at most: its whole sample labeled by humans. A round too small to auto-label
    has no machine labels to audit."""
    if spec.audit is None or not spec.auto_labeling or objects < AUTO_LABELING_MIN_OBJECTS:
        return Decimal(0)
    return pricing_for(spec).worst_case_usd(min(spec.audit.sample_size, objects))


def audit_spent_usd(record: RoundRecord) -> Decimal:
    """A round's audit in what the chain has spent: its cost once it ended, its worst case while it runs or is due."""
    audit = record.audit
    if audit is None:
        if not audit_due(record):
            return Decimal(0)
        spec = record.spec_snapshot()
        machine = record.job.counters.machine_labeled if record.job and record.job.counters else 0
        return pricing_for(spec).worst_case_usd(min(spec.audit.sample_size if spec.audit else 0, machine))
    if audit.status in _LIVE:
        return pricing_for(record.spec_snapshot()).worst_case_usd(audit.objects)
    return audit.known_cost_usd or Decimal(0)
