"""Print the checkov checks that template.yaml's top-level Metadata skips, comma-separated.

checkov honours skips only in a resource's own Metadata; `make validate` passes these as --skip-check.
Every entry must give its reason, so a skip without a comment is an error here.
"""

import sys
from pathlib import Path
from typing import Any

import yaml


class _TemplateLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form intrinsics (!Ref, !Sub, ...) as plain values."""


def _ignore_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_TemplateLoader.add_multi_constructor("!", _ignore_tag)


def main(template: str) -> None:
    document = yaml.load(Path(template).read_text(), Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass
    skips = document.get("Metadata", {}).get("checkov", {}).get("skip", [])
    missing = [skip.get("id") for skip in skips if not str(skip.get("comment", "")).strip()]
    if missing:
        sys.exit(f"{template}: checkov skips without a reason: {', '.join(map(str, missing))}")
    print(",".join(skip["id"] for skip in skips))


if __name__ == "__main__":
    main(sys.argv[1])
