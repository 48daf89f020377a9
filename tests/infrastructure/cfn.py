"""template.yaml as AWS deploys it: loaded with CloudFormation's short-form intrinsics and translated by
aws-sam-translator (the library SAM itself uses), offline, exactly as the emulator (local/template.py) reads it."""

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

from local.template import load_template, sam_translate
from tests.support import ROOT

TEMPLATE = ROOT / "template.yaml"
Template = dict[str, Any]


def load(path: Path = TEMPLATE) -> Template:
    """The same loader the emulator provisions from, so both read the template alike."""
    return load_template(path)


@cache
def _source() -> Template:
    return load()


def source() -> Template:
    """A fresh copy of template.yaml, safe to break."""
    return copy.deepcopy(_source())


def translate(template: Template) -> Template:
    """What CloudFormation deploys: the SAM translation the emulator provisions from (aws-sam-translator, offline)."""
    return sam_translate(template)


@cache
def _deployed() -> Template:
    return translate(_source())


def deployed() -> Template:
    """template.yaml translated to plain CloudFormation (a fresh copy)."""
    return copy.deepcopy(_deployed())


def resolve(value: Any, names: dict[str, str]) -> Any:
    """Substitute Ref, Fn::GetAtt and Fn::Sub with the given values (for event patterns in tests)."""
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return names[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        return names[".".join(value["Fn::GetAtt"])]
    if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        return re.sub(r"\$\{([^}!]+)\}", lambda match: names[match.group(1)], value["Fn::Sub"])
    return {key: resolve(item, names) for key, item in value.items()}
