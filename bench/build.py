"""What `make build` (sam build) left in .aws-sam/build, and whether it still matches the source."""

import filecmp
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.proc import ROOT

BUILD = ROOT / ".aws-sam" / "build"
SOURCE_LAYER = ROOT / "layers" / "gtchain" / "gtchain"


@dataclass(frozen=True)
class Package:
    name: str  # the template's logical id
    path: Path
    layers: tuple[str, ...]  # logical ids of the layers it runs with (functions only)
    source: Path | None  # the source directory the build copied the code from


def packages() -> dict[str, Package]:
    """Every function and layer of the built template (which names each built directory)."""
    template: dict[str, Any] = yaml.safe_load((BUILD / "template.yaml").read_text())
    resources = template["Resources"]
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    found = {}
    for name, resource in resources.items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            layers = [layer["Ref"] for layer in global_layers + properties.get("Layers", []) if "Ref" in layer]
            source = ROOT / "functions" / name.removesuffix("Function").lower()
            found[name] = Package(name, BUILD / properties["CodeUri"], tuple(layers), source)
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            found[name] = Package(name, BUILD / properties["ContentUri"], (), None)
    return found


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def _same(source: Path, built: Path) -> bool:
    return built.is_file() and filecmp.cmp(source, built, shallow=False)


def state() -> str | None:
    """None when the build is there and holds the current source; otherwise why it cannot be used."""
    if not (BUILD / "template.yaml").is_file():
        return "no .aws-sam/build: run `make build`"
    for package in packages().values():
        if package.source is not None and not _same(package.source / "app.py", package.path / "app.py"):
            return f".aws-sam/build/{package.name} is older than its source: run `make build`"
    built_layer = next((p.path for p in packages().values() if (p.path / "python" / "gtchain").is_dir()), None)
    if built_layer is None:
        return ".aws-sam/build has no gtchain layer: run `make build`"
    for source in SOURCE_LAYER.rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            built = built_layer / "python" / "gtchain" / source.relative_to(SOURCE_LAYER)
            if not _same(source, built):
                return f".aws-sam/build's layer is older than {source.relative_to(ROOT)}: run `make build`"
    return None
