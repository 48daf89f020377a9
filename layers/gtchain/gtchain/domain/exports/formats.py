"""Which export formats exist and which task each fits: chain.json's `exports` is checked against this."""

from enum import StrEnum

from gtchain.domain.tasks import TaskType


class ExportFormat(StrEnum):
    COCO = "coco"
    YOLO = "yolo"
    VOC = "voc"
    CSV = "csv"
    JSONL = "jsonl"
    MASKS = "masks"


TASK_FORMATS: dict[TaskType, tuple[ExportFormat, ...]] = {
    TaskType.BOUNDING_BOX: (ExportFormat.COCO, ExportFormat.YOLO, ExportFormat.VOC),
    TaskType.IMAGE_CLASSIFICATION: (ExportFormat.CSV, ExportFormat.JSONL),
    TaskType.TEXT_CLASSIFICATION: (ExportFormat.CSV, ExportFormat.JSONL),
    TaskType.SEMANTIC_SEGMENTATION: (ExportFormat.COCO, ExportFormat.MASKS),
}


def formats_problem(task: TaskType, formats: list[ExportFormat]) -> str | None:
    """Why these formats cannot be exported for this task; None when they can."""
    repeated = sorted({f.value for f in formats if formats.count(f) > 1})
    if repeated:
        return f"exports lists {', '.join(repeated)} more than once"
    allowed = TASK_FORMATS[task]
    wrong = [f.value for f in formats if f not in allowed]
    if not wrong:
        return None
    return f"{', '.join(wrong)} cannot be exported for {task}; choose from {', '.join(f.value for f in allowed)}"
