"""Print each built function's unzipped size together with its layers; exit 1 if one exceeds Lambda's limit.

Reads the template `sam build` wrote (.aws-sam/build/template.yaml), where every CodeUri and ContentUri
names the built directory, and resolves each function's layers (Globals first, as SAM merges them).
Run with the SAM CLI environment's Python (it parses the template with SAM CLI's own YAML loader).
"""

import os
import sys
from pathlib import Path
from typing import Any

from samcli.yamlhelper import yaml_parse

LIMIT = 250 * 1024 * 1024  # Lambda: function code plus all its layers, unzipped


def tree_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            file = Path(root) / name
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def layer_ids(layers: list[Any]) -> list[str]:
    """Layers given as {"Ref": <logical id>} are built here; layer ARNs are outside this check."""
    return [layer["Ref"] for layer in layers if isinstance(layer, dict) and "Ref" in layer]


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:7.1f} MiB"


def main(build_dir: str) -> int:
    build = Path(build_dir)
    template = yaml_parse((build / "template.yaml").read_text())
    resources = template["Resources"]
    global_layers = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    failed = False
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        code = tree_size(build / resource["Properties"]["CodeUri"])
        layers = layer_ids(global_layers + resource["Properties"].get("Layers", []))
        sizes = {layer: tree_size(build / resources[layer]["Properties"]["ContentUri"]) for layer in layers}
        total = code + sum(sizes.values())
        with_layers = " + ".join(f"{name} {mib(size).strip()}" for name, size in sizes.items()) or "no layers"
        verdict = "OK" if total <= LIMIT else "OVER THE 250 MiB LIMIT"
        print(f"{logical_id:20} {mib(total)} unzipped (code {mib(code).strip()} + {with_layers}) {verdict}")
        failed |= total > LIMIT
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else ".aws-sam/build"))
