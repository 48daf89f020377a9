"""Package size: each built function and layer unzipped, as `sam build` left them in .aws-sam/build."""

from bench import build
from bench.report import Row, unavailable

SMALL_FUNCTIONS = ("StartFunction", "AdvanceFunction", "ReconcileFunction")
FUNCTION_LIMIT_MB = 5.0  # their own code, without the shared layer
TOTAL_LIMIT_MB = 250.0  # Lambda's limit: code plus every layer, unzipped
MB = 1024 * 1024


def _size(mib: float) -> str:
    return f"{mib * 1024:.0f} KiB" if mib < 1 else f"{mib:.1f} MiB"


def measure() -> list[Row]:
    if not (build.BUILD / "template.yaml").is_file():
        return [unavailable("package size", "every function and layer", "no .aws-sam/build: run `make build`")]
    stale = build.state()
    note = " (build older than the source)" if stale else ""
    packages = build.packages()
    sizes = {name: build.tree_bytes(package.path) / MB for name, package in packages.items()}
    rows = []
    for name, package in sorted(packages.items()):
        if package.source is None:
            rows.append(Row("package size", f"{name} (layer){note}", _size(sizes[name]),
                            data={"mib": sizes[name]}))  # fmt: skip
            continue
        total = sizes[name] + sum(sizes[layer] for layer in package.layers)
        own_limited = name in SMALL_FUNCTIONS
        met = total < TOTAL_LIMIT_MB and (sizes[name] < FUNCTION_LIMIT_MB or not own_limited)
        target = f"< {FUNCTION_LIMIT_MB:.0f} MiB; " if own_limited else ""
        rows.append(Row(
            "package size", f"{name}: own code; with {' + '.join(package.layers) or 'no layers'}{note}",
            f"{_size(sizes[name])}; {_size(total)}", f"{target}with layers < {TOTAL_LIMIT_MB:.0f} MiB", met,
            {"code_mib": sizes[name], "total_mib": total, "layers": list(package.layers)},
        ))  # fmt: skip
    return rows
