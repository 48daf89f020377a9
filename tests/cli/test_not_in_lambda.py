"""The CLI is the operator's tool, not the functions': its libraries are not in the Lambda layer, and nothing a
function imports needs them."""

import json
import subprocess
import sys
import tomllib

from tests.infrastructure.test_packaging import code_dirs, pins
from tests.support import ROOT

CLI_LIBRARIES = ("typer", "rich", "click")

# Imports every handler and every gtchain module (the CLI, gtchain_cli, lives outside the layer) with typer, rich
# and click made unimportable (as in the layer, which does not carry them); then shows that the CLI does need them.
_PROBE = """
import importlib, json, pkgutil, sys
BLOCKED = {blocked!r}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not in the Lambda layer")
        return None

sys.meta_path.insert(0, Blocker())
import gtchain
imported = []
for name in ("functions.start.app", "functions.advance.app", "functions.reconcile.app", "functions.report.app"):
    importlib.import_module(name)
    imported.append(name)
for module in pkgutil.walk_packages(gtchain.__path__, "gtchain."):
    importlib.import_module(module.name)
    imported.append(module.name)
try:
    importlib.import_module("gtchain_cli")
    cli = "imported"
except ImportError as exc:
    cli = str(exc)
print(json.dumps({{"imported": imported, "cli": cli}}))
"""


def test_the_layer_does_not_carry_the_cli_libraries() -> None:
    for logical_id, directory in code_dirs().items():
        shipped = pins(directory / "requirements.txt")
        assert not set(shipped) & set(CLI_LIBRARIES), logical_id
    assert {name: version for name, version in pins(ROOT / "requirements-dev.txt").items()
            if name in CLI_LIBRARIES} == {"typer": "0.29.1", "rich": "15.0.0"}  # fmt: skip


def test_nothing_a_function_imports_needs_the_cli_libraries() -> None:
    result = subprocess.run(  # noqa: S603 (our own interpreter, our own code)
        [sys.executable, "-c", _PROBE.format(blocked=CLI_LIBRARIES)], cwd=ROOT, capture_output=True, text=True,
        check=True, env={"PATH": "", "POWERTOOLS_TRACE_DISABLED": "1", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip

    probe = json.loads(result.stdout)
    assert "functions.report.app" in probe["imported"] and "gtchain.service.start" in probe["imported"]
    assert probe["cli"].endswith("is not in the Lambda layer")


def test_the_console_script_is_gtchain() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    assert project["scripts"] == {"gtchain": "gtchain_cli:main"}
    assert project["optional-dependencies"]["cli"] == ["typer==0.29.1", "rich==15.0.0"]


def test_the_cli_is_not_in_the_layers_source() -> None:
    # sam build packages the layer's ContentUri whole: the CLI lives beside it, never under it
    layer = ROOT / "layers" / "gtchain"
    assert not list(layer.rglob("gtchain_cli")) and not list(layer.rglob("entrypoints"))
    assert (ROOT / "cli" / "gtchain_cli" / "app.py").is_file()
