"""Exports: a chain's labels in the formats training code reads (COCO, YOLO, Pascal VOC, CSV, JSON Lines, masks).

Pure: the converters read results-manifest lines and write through an ExportWriter (writer.py); the service
decides where the files go (S3, a local folder). What each format holds is in docs/exports.md.

Every chain.json check imports formats.py, so the names below load on first use (PEP 562): handlers that
never export do not pay for the converters at cold start.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gtchain.domain.exports.converters import FormatCounts
    from gtchain.domain.exports.export import ExportCounts, Exporter, export_lines
    from gtchain.domain.exports.formats import TASK_FORMATS, ExportFormat, formats_problem
    from gtchain.domain.exports.objects import ExportSchema, image_stem
    from gtchain.domain.exports.writer import ExportWriter, content_type

_MODULES = {
    "FormatCounts": "converters",
    "ExportCounts": "export",
    "Exporter": "export",
    "export_lines": "export",
    "TASK_FORMATS": "formats",
    "ExportFormat": "formats",
    "formats_problem": "formats",
    "ExportSchema": "objects",
    "image_stem": "objects",
    "ExportWriter": "writer",
    "content_type": "writer",
}

__all__ = [
    "TASK_FORMATS",
    "ExportCounts",
    "ExportFormat",
    "ExportSchema",
    "ExportWriter",
    "Exporter",
    "FormatCounts",
    "content_type",
    "export_lines",
    "formats_problem",
    "image_stem",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_MODULES[name]}"), name)
