"""What an EventBridge target receives: JSON paths, the input transformer, Input and InputPath."""

from __future__ import annotations

import json
from typing import Any, TypedDict

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from broker.core.event_inputs import (
    MISSING,
    InputTransformer,
    parse_json_path,
    render_target_input,
    validate_target_input,
)
from broker.errors import InvalidParameterValue

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {
        "instance-id": "i-0123456789",
        "state": "RUNNING",
        "count": 3,
        "ok": True,
        "nothing": None,
        "tags": {"team": "core", "cost": 12},
        "list": ["a", "b"],
        "a b": "spaced",
        "it's": "quoted",
        "path/like": "slashed",
        "quote": 'say "hi"',
    },
}


class _Rule(TypedDict):
    rule_arn: str
    rule_name: str
    ingestion_time: str


RULE: _Rule = {
    "rule_arn": "arn:aws:events:us-east-1:123456789012:rule/my-rule",
    "rule_name": "my-rule",
    "ingestion_time": "2015-11-11T21:29:55Z",
}


# --- JSON paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", EVENT),
        ("$.detail", EVENT["detail"]),
        ("$.detail.state", "RUNNING"),
        ("$.detail-type", "EC2 Instance State-change Notification"),
        ("$.detail.instance-id", "i-0123456789"),
        ("$.detail.path/like", "slashed"),
        ("$.detail.tags.cost", 12),
        ("$.detail.count", 3),
        ("$.detail.ok", True),
        ("$.detail.nothing", None),
        ("$.resources[0]", "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"),
        ("$.detail.list[1]", "b"),
        ("$['detail']['a b']", "spaced"),
        ('$["detail"]["a b"]', "spaced"),
        ("$.detail['it\\'s']", "quoted"),
        ("$['detail'].tags['team']", "core"),
        ("$.detail.list[*]", ["a", "b"]),
        ("$.detail.tags.*", ["core", 12]),
        ("$.detail.tags[*]", ["core", 12]),
        ("$.resources[*]", EVENT["resources"]),
        ("$.detail.state.*", []),
        ("$.nowhere[*]", []),
        ("$.*.state", ["RUNNING"]),
        # nothing there
        ("$.detail.missing", MISSING),
        ("$.detail.state.deeper", MISSING),
        ("$.resources[1]", MISSING),
        ("$.resources.0", MISSING),
        ("$.detail[0]", MISSING),
        ("$.detail.nothing.x", MISSING),
    ],
)
def test_paths_select(path: str, expected: Any) -> None:
    assert parse_json_path(path).select(EVENT) == expected


def test_a_path_knows_whether_it_is_definite() -> None:
    assert parse_json_path("$.a[0]['b']").definite
    assert not parse_json_path("$.a[*]").definite
    assert parse_json_path("$.a[0]['b']").steps == ("a", 0, "b")


def test_missing_is_falsy_and_distinct_from_null() -> None:
    assert not MISSING
    assert MISSING is not None
    assert repr(MISSING) == "MISSING"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("", "empty"),
        ("detail", "starts with $"),
        ("@.detail", "starts with $"),
        ("$" + ".a" * 128, "longer than 256"),
        ("$.", "name must follow the dot"),
        ("$.detail.", "name must follow the dot"),
        ("$..detail", "deep scan"),
        ("$.a b", "unexpected ' '"),
        ("$detail", "unexpected 'd'"),
        ("$.a[-1]", "index, * or a quoted name"),
        ("$.a[0:2]", "index, * or a quoted name"),
        ("$.a[0,1]", "index, * or a quoted name"),
        ("$.a[?(@.x)]", "index, * or a quoted name"),
        ("$.a[", "index, * or a quoted name"),
        ("$.a[x]", "index, * or a quoted name"),
        ("$['a'", "must be followed by ]"),
        ("$['a']x", "unexpected 'x'"),
        ("$['a", "not closed"),
        ("$['']", "empty"),
        ("$.a['b\"]", "not closed"),
    ],
)
def test_invalid_paths(path: str, reason: str) -> None:
    with pytest.raises(InvalidParameterValue, match="is not a valid JSON path") as caught:
        parse_json_path(path)
    assert reason in caught.value.message


# --- what a target receives ---------------------------------------------------------------------


def test_no_setting_sends_the_whole_event_compactly() -> None:
    payload = render_target_input(EVENT, **RULE)
    assert json.loads(payload) == EVENT
    assert payload.startswith('{"version":"0","id":')
    assert list(json.loads(payload)) == list(EVENT)


def test_input_is_sent_verbatim() -> None:
    text = '{ "fixed" : [1, 2] }'
    assert render_target_input(EVENT, input=text, **RULE) == text


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("$.detail.state", '"RUNNING"'),
        ("$.detail.count", "3"),
        ("$.detail.tags", '{"team":"core","cost":12}'),
        ("$.resources", '["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]'),
        ("$.detail.nothing", "null"),
        ("$.detail.missing", "null"),
        ("$.detail.list[*]", '["a","b"]'),
    ],
)
def test_input_path_sends_the_selection_as_json(path: str, payload: str) -> None:
    assert render_target_input(EVENT, input_path=path, **RULE) == payload


def test_non_ascii_text_is_sent_as_is() -> None:
    event = {**EVENT, "detail": {"city": "Zürich"}}
    assert render_target_input(event, input_path="$.detail", **RULE) == '{"city":"Zürich"}'


# --- the input transformer ----------------------------------------------------------------------

PATHS = {
    "instance": "$.detail.instance-id",
    "state": "$.detail.state",
    "count": "$.detail.count",
    "ok": "$.detail.ok",
    "nothing": "$.detail.nothing",
    "tags": "$.detail.tags",
    "list": "$.detail.list",
    "missing": "$.detail.missing",
    "quote": "$.detail.quote",
    "first": "$.resources[0]",
    "spaced": "$.detail['a b']",
}


def render(template: str, paths: dict[str, str] | None = None) -> str:
    transformer = InputTransformer.from_wire(
        {"InputPathsMap": PATHS if paths is None else paths, "InputTemplate": template},
        target_id="t1",
    )
    return transformer.render(EVENT, **RULE)


@pytest.mark.parametrize(
    ("template", "payload"),
    [
        # text templates: raw values, verbatim text
        ("instance <instance> is in <state>", "instance i-0123456789 is in RUNNING"),
        ('"instance <instance> is in <state>"', '"instance i-0123456789 is in RUNNING"'),
        ('<instance> is in state "<state>"', 'i-0123456789 is in state "RUNNING"'),
        ("n=<count> ok=<ok> none=<nothing>", "n=3 ok=true none=null"),
        ("tags <tags> list <list>", "tags {team:core,cost:12} list [a,b]"),
        ("missing [<missing>]", "missing []"),
        ("a < b > c <state>", "a < b > c RUNNING"),
        ("<!b>bold</b> <state>", "<!b>bold</b> RUNNING"),
        ("  spaced: <spaced>", "  spaced: spaced"),
        ("no placeholders at all", "no placeholders at all"),
        # JSON templates: values JSON in value position, raw inside strings, output compact
        (
            '{"instance": <instance>, "state": [9, <state>, true]}',
            '{"instance":"i-0123456789","state":[9,"RUNNING",true]}',
        ),
        (
            '{"myInstance": <instance>, "myStatus": "<instance> is in state \\"<state>\\""}',
            '{"myInstance":"i-0123456789","myStatus":"i-0123456789 is in state \\"RUNNING\\""}',
        ),
        (
            '{"n": <count>, "ok": <ok>, "none": <nothing>, "tags": <tags>, "list": <list>}',
            '{"n":3,"ok":true,"none":null,"tags":{"team":"core","cost":12},"list":["a","b"]}',
        ),
        ('{"s": "n=<count> t=<tags> l=<list>"}', '{"s":"n=3 t={team:core,cost:12} l=[a,b]"}'),
        ('{"m": <missing>, "ms": "[<missing>]"}', '{"m":"","ms":"[]"}'),
        (
            '{"first": <first>}',
            '{"first":"arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}',
        ),
        ("  [<state>, <count>]", '["RUNNING",3]'),
        # a raw value that breaks the JSON is sent as produced (AWS does not escape)
        ('{"q": "<quote>"}', '{"q": "say "hi""}'),
        ('{"q": <quote>}', '{"q":"say \\"hi\\""}'),
        # reserved variables
        (
            '{"arn": <aws.events.rule-arn>, "name": "<aws.events.rule-name>", '
            '"at": <aws.events.event.ingestion-time>}',
            '{"arn":"arn:aws:events:us-east-1:123456789012:rule/my-rule","name":"my-rule",'
            '"at":"2015-11-11T21:29:55Z"}',
        ),
        (
            "rule <aws.events.rule-name> got it at <aws.events.event.ingestion-time>",
            "rule my-rule got it at 2015-11-11T21:29:55Z",
        ),
    ],
)
def test_templates(template: str, payload: str) -> None:
    assert render(template) == payload


def test_the_whole_event_variables() -> None:
    payload = json.loads(
        render('{"event": <aws.events.event>, "json": <aws.events.event.json>}', paths={})
    )
    assert payload["json"] == EVENT
    assert "detail" not in payload["event"]
    assert payload["event"]["detailType"] == EVENT["detail-type"]
    assert "detail-type" not in payload["event"]
    assert payload["event"]["id"] == EVENT["id"]


def test_a_transformer_round_trips_its_wire_form() -> None:
    wire = {"InputPathsMap": {"s": "$.detail.state"}, "InputTemplate": '{"s": <s>}'}
    transformer = InputTransformer.from_wire(wire, target_id="t1")
    assert transformer.to_wire() == wire
    assert transformer.is_json
    assert InputTransformer.from_wire({"InputTemplate": "x"}).to_wire() == {"InputTemplate": "x"}
    assert render_target_input(EVENT, transformer=transformer, **RULE) == '{"s":"RUNNING"}'


def test_direct_construction_validates_too() -> None:
    transformer = InputTransformer('{"s": <s>}', {"s": "$.detail.state"})
    assert transformer.is_json
    assert transformer.render(EVENT, **RULE) == '{"s":"RUNNING"}'
    assert transformer == InputTransformer('{"s": <s>}', {"s": "$.detail.state"}, target_id="x")
    with pytest.raises(InvalidParameterValue, match="for target t9 contains invalid placeholder"):
        InputTransformer("<y>", {"s": "$"}, target_id="t9")


def test_a_json_template_keeps_its_key_order_and_text() -> None:
    event = {**EVENT, "detail": {"city": "Zürich", "n": 1.5}}
    transformer = InputTransformer(
        '{\n  "z": <city>,\n  "a": "in <city>",\n  "n": <n>\n}',
        {"city": "$.detail.city", "n": "$.detail.n"},
    )
    assert transformer.render(event, **RULE) == '{"z":"Zürich","a":"in Zürich","n":1.5}'


def test_the_same_variable_may_appear_many_times() -> None:
    assert render("<state>/<state>", {"state": "$.detail.state"}) == "RUNNING/RUNNING"


# --- PutTargets validation ----------------------------------------------------------------------


def test_valid_settings_pass() -> None:
    assert validate_target_input(target_id="t1") is None
    assert validate_target_input(target_id="t1", input='{"a": 1}') is None
    assert validate_target_input(target_id="t1", input='"just a string"') is None
    assert validate_target_input(target_id="t1", input_path="$.detail") is None
    transformer = validate_target_input(
        target_id="t1",
        input_transformer={"InputPathsMap": {"a-b_1": "$.detail"}, "InputTemplate": "<a-b_1>"},
    )
    assert isinstance(transformer, InputTransformer)
    assert validate_target_input(target_id="t1", input_transformer=transformer) is transformer


def test_a_hundred_paths_and_long_keys_are_allowed() -> None:
    paths = {f"k{i}": "$.detail" for i in range(100)}
    paths["k0"] = "$." + "a" * 254
    paths["x" * 256] = "$"
    del paths["k99"]
    assert validate_target_input(
        target_id="t1", input_transformer={"InputPathsMap": paths, "InputTemplate": "x" * 8192}
    )
    assert validate_target_input(target_id="t1", input="1" * 8192) is None


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"input": "{}", "input_path": "$"},
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
        ),
        (
            {"input": "{}", "input_transformer": {"InputTemplate": "x"}},
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
        ),
        (
            {"input_path": "$", "input_transformer": {"InputTemplate": "x"}},
            "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
        ),
        ({"input": "{"}, "Input for target t1 is not valid JSON text."),
        ({"input": "not json"}, "Input for target t1 is not valid JSON text."),
        ({"input": ""}, "Input for target t1 is not valid JSON text."),
        ({"input": 5}, "Input for target t1 is not valid JSON text."),
        ({"input": "1" * 8193}, "Input for target t1 is longer than 8192 characters."),
        ({"input_path": "detail"}, "InputPath for target t1 is invalid. A path starts with $."),
        ({"input_path": "$..a"}, "InputPath for target t1 is invalid. Deep scan (..) is not"),
        ({"input_path": ""}, "InputPath for target t1 is invalid. The path is empty."),
        (
            {"input_path": "$" + ".a" * 128},
            "InputPath for target t1 is invalid. The path is longer",
        ),
        ({"input_path": ["$"]}, "InputPath for target t1 is invalid."),
        ({"input_transformer": "x"}, "InputTransformer for target t1 is invalid."),
        ({"input_transformer": {}}, "InputTransformer for target t1 requires an InputTemplate."),
        (
            {"input_transformer": {"InputTemplate": ""}},
            "InputTransformer for target t1 requires an InputTemplate.",
        ),
        (
            {"input_transformer": {"InputTemplate": 3}},
            "InputTransformer for target t1 requires an InputTemplate.",
        ),
        (
            {"input_transformer": {"InputTemplate": "x" * 8193}},
            "InputTemplate for target t1 is longer than 8192 characters.",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": ["a"]}},
            "InputPathsMap for target t1 is invalid.",
        ),
        (
            {
                "input_transformer": {
                    "InputTemplate": "x",
                    "InputPathsMap": {f"k{i}": "$" for i in range(101)},
                }
            },
            "InputPathsMap for target t1 has more than 100 entries.",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": {"": "$"}}},
            "InputPathsMap for target t1 has an empty key.",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": {"a b": "$"}}},
            "InputPathsMap key a b for target t1 is invalid",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": {"a.b": "$"}}},
            "InputPathsMap key a.b for target t1 is invalid",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": {"x" * 257: "$"}}},
            "InputPathsMap key " + "x" * 257 + " for target t1 is invalid: keys are 1 to 256",
        ),
        (
            {
                "input_transformer": {
                    "InputTemplate": "x",
                    "InputPathsMap": {"aws.events.rule-arn": "$"},
                }
            },
            "InputPathsMap for target t1 cannot use the reserved name aws.events.rule-arn.",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": {"aws.events.x": "$"}}},
            "InputPathsMap for target t1 cannot use the reserved name aws.events.x.",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": {"a": "detail"}}},
            "InputPath for target t1 is invalid. A path starts with $.",
        ),
        (
            {"input_transformer": {"InputTemplate": "x", "InputPathsMap": {"a": 5}}},
            "InputPath for target t1 is invalid.",
        ),
        (
            {"input_transformer": {"InputTemplate": "<notdefinedkey>"}},
            "InputTemplate for target t1 contains invalid placeholder notdefinedkey.",
        ),
        (
            {"input_transformer": {"InputTemplate": '{"a": "<aws.events.rule>"}'}},
            "InputTemplate for target t1 contains invalid placeholder aws.events.rule.",
        ),
        (
            {"input_transformer": {"InputTemplate": "{<a>: 1}", "InputPathsMap": {"a": "$"}}},
            "InputTemplate for target t1 is not valid JSON once its placeholders are filled in",
        ),
        (
            {"input_transformer": {"InputTemplate": '{"a": <a>', "InputPathsMap": {"a": "$"}}},
            "InputTemplate for target t1 is not valid JSON",
        ),
        (
            {"input_transformer": {"InputTemplate": "<b>bold</b>"}},
            "InputTemplate for target t1 contains invalid placeholder b.",
        ),
        (
            {"input_transformer": {"InputTemplate": "[1, 2"}},
            "InputTemplate for target t1 is not valid JSON",
        ),
    ],
)
def test_invalid_settings(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        validate_target_input(target_id="t1", **settings)
    assert caught.value.message.startswith(message)


# --- properties ---------------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    )


_documents = st.recursive(_scalars, _containers, max_leaves=20)
_names = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=10).filter(
    lambda s: s.isprintable()
)


@settings(max_examples=200, deadline=None)
@given(path=st.lists(st.one_of(_names, st.integers(0, 5)), max_size=5), value=_documents)
def test_a_bracket_path_finds_what_was_put_there(path: list[str | int], value: Any) -> None:
    document: Any = value
    for step in reversed(path):
        document = [None] * step + [document] if isinstance(step, int) else {step: document}
    text = "$" + "".join(
        f"[{step}]"
        if isinstance(step, int)
        else "['" + step.replace("\\", "\\\\").replace("'", "\\'") + "']"
        for step in path
    )
    assert parse_json_path(text).select(document) == value


@settings(max_examples=200, deadline=None)
@given(value=_documents)
def test_a_json_value_placeholder_delivers_the_value_itself(value: Any) -> None:
    event = {**EVENT, "detail": {"v": value}}
    transformer = InputTransformer.from_wire(
        {"InputPathsMap": {"v": "$.detail.v"}, "InputTemplate": '{"wrapped": <v>}'}
    )
    rendered = transformer.render(event, **RULE)
    assert json.loads(rendered) == {"wrapped": value}
    assert json.loads(render_target_input(event, input_path="$.detail.v", **RULE)) == value


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.characters(exclude_characters="<"), max_size=40))
def test_a_text_template_without_placeholders_is_sent_unchanged(text: str) -> None:
    assume(text and text.lstrip()[:1] not in ("{", "["))
    transformer = InputTransformer.from_wire({"InputTemplate": text})
    assert transformer.render(EVENT, **RULE) == text
