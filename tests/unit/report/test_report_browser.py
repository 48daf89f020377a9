"""report.html in headless Chromium (tools/report_check.py, what `make report-check` runs): a real report renders
without console errors, every figure has a size, nothing is fetched, no job name breaks, it fits A4; and the check
does catch a console error, a figure at zero size and a page that reaches outside.

Skipped when no Chromium is installed, unless GTCHAIN_REQUIRE_CHROMIUM is set (`make report-check` installs
Debian's chromium and sets it)."""

import os
from pathlib import Path

import pytest

from tools.report_check import check_reports, find_chromium
from tools.report_samples import chain_sample, render, write

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        find_chromium() is None and not os.environ.get("GTCHAIN_REQUIRE_CHROMIUM"),
        reason="no Chromium (make report-check installs Debian's chromium)",
    ),
]

BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head><body>
<section id="answer"><p>An answer.</p></section>
<img id="flat" src="data:image/png;base64,{png}" style="width: 0">
<img id="remote" src="https://example.invalid/figure.png">
<script>console.error("boom")</script>
</body></html>
"""
ONE_PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def test_a_four_round_report_renders_cleanly_and_is_kept_as_a_screenshot(tmp_path: Path) -> None:
    page = write(render(chain_sample("four-rounds", rounds=4, baseline=True)), tmp_path / "pages")

    [result] = check_reports([page], tmp_path / "shots")

    assert result.problems == []
    assert result.figures == 1 + 3 + 7  # the chain's figure, 3 comparisons, 7 jobs
    assert Path(result.screenshot).read_bytes().startswith(b"\x89PNG") and result.pdf_pages >= 2


def test_the_check_catches_console_errors_flat_figures_and_fetches(tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(BROKEN.format(png=ONE_PIXEL))

    [result] = check_reports([page], tmp_path / "shots")

    text = "\n".join(result.problems)
    assert "console error: boom" in text
    assert "figure 'flat' is drawn at zero size" in text
    assert "fetched from outside the page" in text and "example.invalid" in text
