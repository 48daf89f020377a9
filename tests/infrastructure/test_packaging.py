"""What `sam build` packages: every function's code is where the template says, dependencies are pinned as in
the tested environment, and matplotlib ships with the report function alone."""

import re
from pathlib import Path

import pytest

from tests.infrastructure import cfn, invariants
from tests.support import ROOT

REQUIREMENT = re.compile(r"^(?P<name>[A-Za-z0-9_.-]+)(\[[^\]]*\])?==(?P<version>\S+)$")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = REQUIREMENT.match(line)
        assert match, f"{path.relative_to(ROOT)}: {line!r} is not pinned with =="
        found[match["name"].lower().replace("_", "-")] = match["version"]
    return found


def code_dirs() -> dict[str, Path]:
    """Logical id -> the directory sam build packages, for every function and layer."""
    template = cfn.source()
    dirs = {}
    for logical_id, resource in invariants.resources(template, "AWS::Serverless::Function"):
        dirs[logical_id] = ROOT / invariants.props(resource)["CodeUri"]
    for logical_id, resource in invariants.resources(template, "AWS::Serverless::LayerVersion"):
        dirs[logical_id] = ROOT / invariants.props(resource)["ContentUri"]
    return dirs


@pytest.mark.parametrize("logical_id", sorted(code_dirs()))
def test_dependencies_are_pinned_as_in_the_tested_environment(logical_id: str) -> None:
    tested = pins(ROOT / "requirements-dev.txt")

    shipped = pins(code_dirs()[logical_id] / "requirements.txt")

    assert {name: version for name, version in shipped.items() if tested.get(name) != version} == {}


def test_matplotlib_ships_with_the_report_function_only() -> None:
    with_matplotlib = sorted(
        logical_id for logical_id, path in code_dirs().items() if "matplotlib" in pins(path / "requirements.txt")
    )

    assert with_matplotlib == ["ReportFunction"]


def test_every_function_handler_exists() -> None:
    template = cfn.source()
    handler = template["Globals"]["Function"]["Handler"]
    module, _, function = handler.partition(".")
    for logical_id, resource in invariants.resources(template, "AWS::Serverless::Function"):
        source = ROOT / invariants.props(resource)["CodeUri"] / f"{module}.py"
        assert source.is_file(), f"{logical_id}: {source.relative_to(ROOT)} is missing"
        assert f"def {function}(" in source.read_text(), f"{logical_id}: {source.relative_to(ROOT)} has no {function}"
