"""Demo: the wall time of the whole `make demo` experiment (the seed's 2,500 objects, two rounds and a
baseline on the embedded emulator), without setting up the environment: `python -m local.demo` itself."""

from importlib.util import find_spec

from bench.proc import PYTHON, WORK, run_command
from bench.report import Row, unavailable

TARGET_S = 60.0


def measure() -> list[Row]:
    if find_spec("local.demo") is None:
        return [unavailable("demo", "`make demo` wall time", "there is no local/demo.py", f"< {TARGET_S:.0f} s")]
    wall, peak = run_command([str(PYTHON), "-m", "local.demo", "--out", str(WORK / "demo-out")], log_name="demo")
    return [Row("demo", "`make demo` wall time (interpreter start to exit)", f"{wall:.1f} s (peak RSS {peak:.0f} MB)",
                f"< {TARGET_S:.0f} s", wall < TARGET_S, {"seconds": wall, "peak_rss_mb": peak})]  # fmt: skip
