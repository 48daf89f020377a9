"""`make bench`: every measurement, printed as one table with its target, written to bench/results.json
with the machine's description. `python -m bench.run [section ...]` runs some sections only (their results
go to bench/work/results.json, so bench/results.json always holds a whole run)."""

import json
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

from bench import calls, coldstart, demo, events, exports, latency, machine, packages, reporter
from bench.proc import ROOT, WORK
from bench.report import Row, as_json, markdown, unavailable

RESULTS = ROOT / "bench" / "results.json"


def _reporter() -> list[Row]:
    missing = [m for m in ("functions.report.app", "tests.fixtures.job_outputs") if find_spec(m) is None]
    if missing:
        return [unavailable("reporter", "report / floor / notebook", f"{', '.join(missing)} missing")]
    return reporter.measure()


SECTIONS: dict[str, Callable[[], list[Row]]] = {
    "packages": packages.measure,
    "coldstart": coldstart.measure,
    "latency": latency.measure,
    "calls": calls.measure,
    "events": events.measure,
    "reporter": _reporter,
    "exports": exports.measure,
    "demo": demo.measure,
}


def main(names: list[str]) -> int:
    unknown = set(names) - set(SECTIONS)
    if unknown:
        print(f"unknown sections {sorted(unknown)}; choose from {list(SECTIONS)}", file=sys.stderr)
        return 2
    chosen = names or list(SECTIONS)
    described = machine.describe()
    print(f"Machine: {machine.one_line(described)}", flush=True)
    rows: list[Row] = []
    failed = []
    started = time.perf_counter()
    for name in chosen:
        section_started = time.perf_counter()
        print(f"... {name}", flush=True)
        try:
            rows += SECTIONS[name]()
        except Exception as exc:  # one broken section must not lose the others' figures
            traceback.print_exc()
            failed.append(name)
            rows.append(Row(name, "the whole section", f"failed: {exc}"))
        print(f"    {name}: {time.perf_counter() - section_started:.0f} s", flush=True)
    duration = time.perf_counter() - started
    print()
    print(markdown(rows))
    missed = [r for r in rows if r.met is False]
    print(f"\n{len(missed)} target(s) missed; {len(failed)} section(s) failed; {duration:.0f} s in all.")
    target = RESULTS if not names else WORK / "results.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    document = {"generated_at": datetime.now(UTC).isoformat(timespec="seconds"), "machine": described,
                "duration_s": round(duration, 1), "sections": chosen, "rows": as_json(rows)}  # fmt: skip
    target.write_text(json.dumps(document, indent=2) + "\n")
    print(f"Written to {Path(target).relative_to(ROOT)}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
