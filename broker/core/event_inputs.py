"""What an EventBridge target receives: the event, ``Input``, ``InputPath`` or ``InputTransformer``.

Public API::

    # PutTargets checks; raises InvalidParameterValue; returns the parsed transformer if any
    validate_target_input(target_id=..., input=..., input_path=..., input_transformer=...)
        -> InputTransformer | None
    render_target_input(event, input=..., input_path=..., transformer=..., rule_arn=...,
                        rule_name=..., ingestion_time=...) -> str   # the exact payload
    parse_json_path(text) -> JsonPath                # raises InvalidParameterValue
    JsonPath.select(document) -> Any                 # MISSING when nothing is there
    InputTransformer(input_template, input_paths_map, target_id="")  # validates on construction
    InputTransformer.from_wire({"InputPathsMap": {...}, "InputTemplate": "..."}, target_id=...)
    InputTransformer.render(event, rule_arn=..., rule_name=..., ingestion_time=...) -> str
    InputTransformer.to_wire() -> dict

What is sent
    Nothing set: the whole event as compact JSON. ``Input``: the text verbatim. ``InputPath``: the
    selected part as compact JSON (a string selection arrives quoted, ``"baz"``; a path that
    selects nothing sends ``null``). ``InputTransformer``: the template with its placeholders
    filled in, as below. The three are mutually exclusive.

JSON paths (``InputPath`` and the values of ``InputPathsMap``)
    ``$`` followed by steps: ``.name`` (letters, digits, ``-``, ``_``, ``/`` and any other
    character but blanks, quotes, ``.``, ``[``, ``]`` and ``*``), ``[n]`` (a non-negative array
    index), ``['any name']`` or ``["any name"]`` (backslash escapes the quote and itself), and the
    wildcards ``.*`` and ``[*]``. A path without a wildcard selects one value or nothing; a path
    with one selects the JSON array of everything it reaches (possibly empty). Deep scan
    (``..``), filters, slices, unions and negative indices are refused. At most 256 characters.
    Bad paths fail PutTargets with ``InputPath for target <id> is invalid.``, as AWS words it,
    followed by the reason.

Input transformer
    ``InputPathsMap``: at most 100 entries; keys 1-256 characters of ``[A-Za-z0-9_-]`` and none
    of the reserved names; values JSON paths. ``InputTemplate``: 1-8192 characters with
    ``<name>`` placeholders, where ``name`` is a key of the map or a reserved variable:

    - ``<aws.events.rule-arn>``, ``<aws.events.rule-name>``: the rule's ARN and name;
    - ``<aws.events.event.ingestion-time>``: the time EventBridge received the event (ISO 8601,
      passed in by the caller);
    - ``<aws.events.event>``: the event without ``detail``, with ``detail-type`` spelled
      ``detailType`` (as AWS sends it);
    - ``<aws.events.event.json>``: the whole event.

    Only ``<`` + a name made of letters, digits, ``.``, ``_`` and ``-`` + ``>`` is a placeholder;
    other angle brackets are text (``<`` and ``>`` cannot be escaped). A placeholder naming no
    key fails PutTargets with ``InputTemplate for target <id> contains invalid placeholder
    <name>.`` (AWS's wording).

    A template whose first non-blank character is ``{`` or ``[`` is a JSON template; any other
    is a text template, sent verbatim after substitution (a template written as a quoted JSON
    string keeps its quotes). In a JSON template:

    - a placeholder in value position receives the value as JSON (a string quoted, an object or
      array as JSON);
    - a placeholder inside a string literal receives the value raw: a string without quotes and
      *without escaping* (AWS does not escape extracted values), a number, boolean or null as
      its JSON text, an object or array as compact JSON with every ``"`` removed (AWS "removes
      internal quotes to ensure a valid string");
    - with the placeholders stood in, the template must be valid JSON, so a placeholder cannot
      be an object key; PutTargets refuses it otherwise;
    - when the result parses as JSON it is sent re-serialised compactly (AWS's documented
      example output is minified); when a raw value broke it (a quote in a string) it is sent
      as produced.

    In a text template every value is inserted as in a JSON string literal (raw).

    A path that selects nothing makes its variable empty: ``""`` in a JSON value position, and
    nothing at all inside a string or a text template. The ``""`` follows a June 2024 recording
    of real EventBridge (a JSON template ``{"command": <command>}`` with a missing path delivered
    ``{"command":""}``); it is one constant, ``MISSING_JSON_VALUE``, should AWS be seen to send
    ``null``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from broker.errors import InvalidParameterValue

__all__ = [
    "MAX_INPUT_LENGTH",
    "MAX_INPUT_PATHS",
    "MAX_INPUT_PATH_LENGTH",
    "MAX_INPUT_TEMPLATE_LENGTH",
    "MAX_PATH_KEY_LENGTH",
    "MISSING",
    "MISSING_JSON_VALUE",
    "RESERVED_VARIABLES",
    "InputTransformer",
    "JsonPath",
    "parse_json_path",
    "render_target_input",
    "validate_target_input",
]

MAX_INPUT_LENGTH = 8192
MAX_INPUT_PATH_LENGTH = 256
MAX_INPUT_TEMPLATE_LENGTH = 8192
MAX_INPUT_PATHS = 100
MAX_PATH_KEY_LENGTH = 256
MISSING_JSON_VALUE = '""'

RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"
RESERVED_VARIABLES = frozenset({RULE_ARN, RULE_NAME, INGESTION_TIME, EVENT, EVENT_JSON})


class _Missing:
    """What a path selects when nothing is there (distinct from a JSON null)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()


class _Wildcard:
    def __repr__(self) -> str:
        return "*"


WILDCARD: Final = _Wildcard()

Step = str | int | _Wildcard

_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_DOT_NAME = re.compile(r"[^\s.\[\]'\"*]+")
_INDEX = re.compile(r"\[(\d+)\]")


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- JSON paths -----------------------------------------------------------------------------


class InvalidJsonPath(ValueError):
    """Why a path is refused; callers wrap it in InvalidParameterValue with the target's id."""


@dataclass(frozen=True)
class JsonPath:
    """A parsed path: ``steps`` are keys (str), indices (int) or the wildcard."""

    text: str
    steps: tuple[Step, ...]

    @property
    def definite(self) -> bool:
        """True when the path selects at most one value (it has no wildcard)."""
        return not any(step is WILDCARD for step in self.steps)

    def select(self, document: Any) -> Any:
        """The value at this path, or MISSING; with a wildcard, the list of all matches."""
        found = [document]
        for step in self.steps:
            found = [child for node in found for child in _children(node, step)]
        if self.definite:
            return found[0] if found else MISSING
        return found


def _children(node: Any, step: Step) -> list[Any]:
    if step is WILDCARD:
        if isinstance(node, Mapping):
            return list(node.values())
        if isinstance(node, list):
            return list(node)
        return []
    if isinstance(step, int):
        if isinstance(node, list) and step < len(node):
            return [node[step]]
        return []
    if isinstance(node, Mapping) and step in node:
        return [node[step]]
    return []


def parse_json_path(text: str) -> JsonPath:
    """Parse an ``InputPath`` or ``InputPathsMap`` value, or raise InvalidParameterValue."""
    try:
        return _parse_path(text)
    except InvalidJsonPath as exc:
        raise InvalidParameterValue(f"{text!r} is not a valid JSON path: {exc}") from None


@lru_cache(maxsize=1024)
def _parse_path(text: str) -> JsonPath:
    if not isinstance(text, str):
        raise InvalidJsonPath("the path must be a string")
    if not text:
        raise InvalidJsonPath("the path is empty")
    if len(text) > MAX_INPUT_PATH_LENGTH:
        raise InvalidJsonPath(f"the path is longer than {MAX_INPUT_PATH_LENGTH} characters")
    if not text.startswith("$"):
        raise InvalidJsonPath("a path starts with $")
    steps: list[Step] = []
    at = 1
    while at < len(text):
        if text.startswith("..", at):
            raise InvalidJsonPath("deep scan (..) is not supported")
        if text[at] == ".":
            if text.startswith(".*", at):
                steps.append(WILDCARD)
                at += 2
                continue
            name = _DOT_NAME.match(text, at + 1)
            if name is None:
                raise InvalidJsonPath(f"a name must follow the dot at position {at}")
            steps.append(name.group())
            at = name.end()
        elif text[at] == "[":
            at = _bracket(text, at, steps)
        else:
            raise InvalidJsonPath(f"unexpected {text[at]!r} at position {at}")
    return JsonPath(text, tuple(steps))


def _bracket(text: str, at: int, steps: list[Step]) -> int:
    if text.startswith("[*]", at):
        steps.append(WILDCARD)
        return at + 3
    index = _INDEX.match(text, at)
    if index is not None:
        steps.append(int(index.group(1)))
        return index.end()
    quote = text[at + 1 : at + 2]
    if quote not in ("'", '"'):
        raise InvalidJsonPath(
            f"a bracket at position {at} holds an index, * or a quoted name "
            "(negative indices, slices, unions and filters are not supported)"
        )
    name: list[str] = []
    at += 2
    while at < len(text):
        char = text[at]
        if char == "\\" and at + 1 < len(text) and text[at + 1] in (quote, "\\"):
            name.append(text[at + 1])
            at += 2
            continue
        if char == quote:
            if text[at + 1 : at + 2] != "]":
                raise InvalidJsonPath(f"a quoted name must be followed by ] at position {at + 1}")
            if not name:
                raise InvalidJsonPath("a quoted name is empty")
            steps.append("".join(name))
            return at + 2
        name.append(char)
        at += 1
    raise InvalidJsonPath("a quoted name is not closed")


# --- Input transformer ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """A placeholder in a template: its variable and whether it sits inside a JSON string."""

    name: str
    in_string: bool


@dataclass(frozen=True)
class InputTransformer:
    """A validated ``InputTransformer``: construction checks everything PutTargets checks and
    raises InvalidParameterValue (``target_id`` only names the target in those messages)."""

    input_template: str
    input_paths_map: Mapping[str, str] = field(default_factory=dict)
    target_id: str = field(default="", compare=False)
    is_json: bool = field(init=False)
    _segments: tuple[str | _Slot, ...] = field(init=False, repr=False)
    _paths: tuple[tuple[str, JsonPath], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        target_id, template, paths_map = self.target_id, self.input_template, self.input_paths_map
        if not isinstance(template, str) or not template:
            raise InvalidParameterValue(
                f"InputTransformer for target {target_id} requires an InputTemplate."
            )
        if len(template) > MAX_INPUT_TEMPLATE_LENGTH:
            raise InvalidParameterValue(
                f"InputTemplate for target {target_id} is longer than "
                f"{MAX_INPUT_TEMPLATE_LENGTH} characters."
            )
        if not isinstance(paths_map, Mapping):
            raise InvalidParameterValue(f"InputPathsMap for target {target_id} is invalid.")
        if len(paths_map) > MAX_INPUT_PATHS:
            raise InvalidParameterValue(
                f"InputPathsMap for target {target_id} has more than {MAX_INPUT_PATHS} entries."
            )
        paths: list[tuple[str, JsonPath]] = []
        for key, path_text in paths_map.items():
            _check_key(key, target_id)
            paths.append((key, _target_path(path_text, target_id)))
        is_json = template.lstrip()[:1] in ("{", "[")
        segments = _split_template(template, is_json, frozenset(paths_map), target_id)
        # A frozen dataclass sets its derived fields through object.__setattr__.
        object.__setattr__(self, "input_paths_map", dict(paths_map))
        object.__setattr__(self, "is_json", is_json)
        object.__setattr__(self, "_segments", segments)
        object.__setattr__(self, "_paths", tuple(paths))

    @classmethod
    def from_wire(cls, value: Any, *, target_id: str = "") -> InputTransformer:
        """From the PutTargets shape ``{"InputPathsMap": {...}, "InputTemplate": "..."}``."""
        if not isinstance(value, Mapping):
            raise InvalidParameterValue(f"InputTransformer for target {target_id} is invalid.")
        return cls(
            input_template=value.get("InputTemplate", ""),  # type checked on construction
            input_paths_map=value.get("InputPathsMap") or {},
            target_id=target_id,
        )

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"InputTemplate": self.input_template}
        if self.input_paths_map:
            wire["InputPathsMap"] = dict(self.input_paths_map)
        return wire

    def render(
        self, event: Mapping[str, Any], *, rule_arn: str, rule_name: str, ingestion_time: str
    ) -> str:
        """The template filled in from ``event`` (see the module docstring for the rules)."""
        variables: dict[str, Any] = {key: path.select(event) for key, path in self._paths}
        variables[RULE_ARN] = rule_arn
        variables[RULE_NAME] = rule_name
        variables[INGESTION_TIME] = ingestion_time
        variables[EVENT] = {
            ("detailType" if key == "detail-type" else key): value
            for key, value in event.items()
            if key != "detail"
        }
        variables[EVENT_JSON] = dict(event)
        parts: list[str] = []
        for segment in self._segments:
            if isinstance(segment, str):
                parts.append(segment)
            elif self.is_json and not segment.in_string:
                parts.append(_as_json_value(variables[segment.name]))
            else:
                parts.append(_as_raw_text(variables[segment.name]))
        text = "".join(parts)
        if not self.is_json:
            return text
        try:
            return _json(json.loads(text))
        except ValueError:
            return text  # a raw value (a quote in a string) broke the JSON: sent as produced


def _check_key(key: Any, target_id: str) -> None:
    if not isinstance(key, str) or not key:
        raise InvalidParameterValue(f"InputPathsMap for target {target_id} has an empty key.")
    if key in RESERVED_VARIABLES or key.startswith("aws.events."):
        raise InvalidParameterValue(
            f"InputPathsMap for target {target_id} cannot use the reserved name {key}."
        )
    if len(key) > MAX_PATH_KEY_LENGTH or _KEY.fullmatch(key) is None:
        raise InvalidParameterValue(
            f"InputPathsMap key {key} for target {target_id} is invalid: keys are 1 to "
            f"{MAX_PATH_KEY_LENGTH} letters, digits, '_' or '-'."
        )


def _target_path(text: Any, target_id: str) -> JsonPath:
    try:
        return _parse_path(text)
    except InvalidJsonPath as exc:
        reason = str(exc)
        raise InvalidParameterValue(
            f"InputPath for target {target_id} is invalid. {reason[0].upper()}{reason[1:]}."
        ) from None
    except TypeError:  # not hashable, so not a string
        raise InvalidParameterValue(f"InputPath for target {target_id} is invalid.") from None


def _split_template(
    template: str, is_json: bool, keys: frozenset[str], target_id: str
) -> tuple[str | _Slot, ...]:
    """Split the template into text and placeholders, noting which ones sit inside a JSON string."""
    segments: list[str | _Slot] = []
    text_start = 0
    in_string = False
    at = 0
    while at < len(template):
        char = template[at]
        if is_json and in_string and char == "\\":
            at += 2
            continue
        if is_json and char == '"':
            in_string = not in_string
        elif char == "<":
            match = _PLACEHOLDER.match(template, at)
            if match is not None:
                name = match.group(1)
                if name not in keys and name not in RESERVED_VARIABLES:
                    raise InvalidParameterValue(
                        f"InputTemplate for target {target_id} contains invalid placeholder {name}."
                    )
                segments.append(template[text_start:at])
                segments.append(_Slot(name, in_string))
                at = text_start = match.end()
                continue
        at += 1
    segments.append(template[text_start:])
    if is_json:
        _check_json_shape(segments, target_id)
    return tuple(segment for segment in segments if segment != "")


def _check_json_shape(segments: list[str | _Slot], target_id: str) -> None:
    stand_in = "".join(
        segment if isinstance(segment, str) else ("x" if segment.in_string else "null")
        for segment in segments
    )
    try:
        json.loads(stand_in)
    except ValueError:
        raise InvalidParameterValue(
            f"InputTemplate for target {target_id} is not valid JSON once its placeholders are "
            "filled in (a placeholder cannot be an object key)."
        ) from None


def _as_json_value(value: Any) -> str:
    if value is MISSING:
        return MISSING_JSON_VALUE
    return _json(value)


def _as_raw_text(value: Any) -> str:
    if value is MISSING:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping | list):
        return _json(value).replace('"', "")
    return _json(value)


# --- Targets --------------------------------------------------------------------------------


def validate_target_input(
    *,
    target_id: str,
    input: str | None = None,
    input_path: str | None = None,
    input_transformer: Any = None,
) -> InputTransformer | None:
    """The PutTargets checks of a target's input settings; returns the parsed transformer.

    Input, InputPath and InputTransformer are mutually exclusive; Input is valid JSON text of at
    most 8192 characters; InputPath a valid path; the transformer as described above.
    """
    if sum(setting is not None for setting in (input, input_path, input_transformer)) > 1:
        raise InvalidParameterValue(
            f"Only one of Input, InputPath, or InputTransformer must be provided for target "
            f"{target_id}."
        )
    if input is not None:
        if not isinstance(input, str):
            raise InvalidParameterValue(f"Input for target {target_id} is not valid JSON text.")
        if len(input) > MAX_INPUT_LENGTH:
            raise InvalidParameterValue(
                f"Input for target {target_id} is longer than {MAX_INPUT_LENGTH} characters."
            )
        try:
            json.loads(input, parse_int=str)  # str: no int digit limit on a valid long number
        except ValueError:
            raise InvalidParameterValue(
                f"Input for target {target_id} is not valid JSON text."
            ) from None
    if input_path is not None:
        _target_path(input_path, target_id)
    if input_transformer is None:
        return None
    if isinstance(input_transformer, InputTransformer):
        return input_transformer
    return InputTransformer.from_wire(input_transformer, target_id=target_id)


def render_target_input(
    event: Mapping[str, Any],
    *,
    input: str | None = None,
    input_path: str | None = None,
    transformer: InputTransformer | None = None,
    rule_arn: str,
    rule_name: str,
    ingestion_time: str,
) -> str:
    """The exact payload a target receives for ``event`` (settings validated at PutTargets)."""
    if input is not None:
        return input
    if input_path is not None:
        selected = parse_json_path(input_path).select(event)
        return "null" if selected is MISSING else _json(selected)
    if transformer is not None:
        return transformer.render(
            event, rule_arn=rule_arn, rule_name=rule_name, ingestion_time=ingestion_time
        )
    return _json(dict(event))
