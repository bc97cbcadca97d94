"""Reading a challenge bundle's YAML while remembering where every value came from.

`yaml.safe_load` forgets positions, so the file is composed into PyYAML's node tree and turned into
plain Python values here, recording each value's line under its path (`("tracks", 0, "phases", 1,
"starts_at")`). Error messages can then name the field *and* the line a person has to edit.

Timestamps are kept as the text that was written (YAML would turn `2026-01-01 00:00` into a naive
datetime and silently assume UTC); the schema parses them and insists on an explicit time zone.
"""

from dataclasses import dataclass, field

import yaml
from yaml.constructor import SafeConstructor

FieldPath = tuple[str | int, ...]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class BundleSyntaxError(ValueError):
    """The file is not well-formed YAML; the message carries the line."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Located:
    """A bundle's data plus the 1-based line of every value (and of every mapping key)."""

    data: object
    lines: dict[FieldPath, int] = field(default_factory=dict)
    key_lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int | None:
        """The line of `path`, or of its nearest ancestor that exists (a missing field is reported
        at the mapping that should hold it)."""
        path = tuple(path)
        while path:
            if path in self.key_lines:
                return self.key_lines[path]
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def format_path(path: FieldPath) -> str:
    """`("tracks", 0, "phases", 1, "ends_at")` -> `tracks[0].phases[1].ends_at`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


class _Builder:
    def __init__(self) -> None:
        self.constructor = SafeConstructor()
        self.located = Located(data=None)

    def build(self, node: yaml.Node, path: FieldPath) -> object:
        self.located.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise BundleSyntaxError(
                        f"{format_path(path)}: keys must be plain names", key_node.start_mark.line + 1
                    )
                key = str(key_node.value)
                if key == "<<":
                    raise BundleSyntaxError("merge keys (<<) are not supported", key_node.start_mark.line + 1)
                if key in out:
                    raise BundleSyntaxError(
                        f"{format_path((*path, key))}: given twice", key_node.start_mark.line + 1
                    )
                self.located.key_lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == _TIMESTAMP_TAG:
            return str(node.value)
        return self.constructor.construct_object(node)


def load_located(text: str, filename: str = "<bundle>") -> Located:
    """Parse YAML `text` into plain data with line numbers. One document; anchors and aliases work."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or str(error)
        raise BundleSyntaxError(f"{filename}: not valid YAML: {problem}", line) from error
    except yaml.YAMLError as error:
        raise BundleSyntaxError(f"{filename}: not valid YAML: {error}", None) from error
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise BundleSyntaxError(f"{filename}: not valid YAML: it is nested too deeply", None) from None
    if node is None:
        raise BundleSyntaxError(f"{filename}: the file is empty", 1)
    builder = _Builder()
    try:
        builder.located.data = builder.build(node, ())
    except RecursionError:
        raise BundleSyntaxError(f"{filename}: not valid YAML: it is nested too deeply", None) from None
    return builder.located
