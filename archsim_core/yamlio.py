"""The one YAML reader of archsim and archsim_core: strict where PyYAML is lenient.

- A duplicate key in a mapping is an error naming the key and its line (PyYAML keeps the
  last one silently).
- Numbers in exponent notation without a dot (`5e2`, `1E-3`) are floats, as in YAML 1.2
  and JSON (PyYAML's YAML 1.1 rules read them as strings).
- `.inf` and `.nan` still parse as floats; whoever validates the value rejects them.
- Every problem (unreadable file, non-UTF-8 bytes, syntax error) is one line:
  `FILE: line L, column C: what`.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from archsim_core.errors import SpecError


class StrictLoader(yaml.SafeLoader):
    """SafeLoader + duplicate-key rejection + YAML 1.2 exponent floats."""


StrictLoader.yaml_implicit_resolvers = {
    key: list(value) for key, value in yaml.SafeLoader.yaml_implicit_resolvers.items()}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


def _mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen = {}
    for key_node, _ in node.value:  # the keys as written (merged `<<` keys may be overridden)
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue  # the base constructor reports unhashable keys
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark)
        seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def yaml_error_line(exc: yaml.YAMLError) -> str:
    """One line from a PyYAML error: 'line L, column C: problem (context)'."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    text = f"{where}{problem}" + (f" ({context})" if context else "")
    return " ".join(text.split())


def loads(text: str, source: str = "<string>", error=SpecError):
    """Parse YAML text strictly; `error(message)` is raised with one line naming `source`."""
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except yaml.YAMLError as exc:
        raise error(f"{source}: malformed YAML: {yaml_error_line(exc)}") from None


def load_file(path, error=SpecError, what: str = "file"):
    """Read and parse a YAML file strictly; every problem is one `error` line naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset "
                    f"{exc.start})") from None
    return loads(text, str(path), error)
