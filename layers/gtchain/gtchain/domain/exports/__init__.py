"""Exports: a chain's labels in the formats training code reads (COCO, YOLO, Pascal VOC, CSV, JSON Lines, masks).

Pure: the converters read results-manifest lines and write through an ExportWriter (writer.py); the service
decides where the files go (S3, a local folder). What each format holds is in docs/exports.md.
"""

from gtchain.domain.exports.converters import FormatCounts
from gtchain.domain.exports.export import ExportCounts, Exporter, export_lines
from gtchain.domain.exports.formats import TASK_FORMATS, ExportFormat, formats_problem
from gtchain.domain.exports.objects import ExportSchema, image_stem
from gtchain.domain.exports.writer import ExportWriter, content_type

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
