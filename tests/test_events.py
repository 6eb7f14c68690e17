import gzip

import pytest
import zstandard

from feature_ops.events import EventError, parse_event, parse_ranking_request
from feature_ops.reader import InputError, Rejects, event_files, read_events

ITEM = {"event": "item", "id": "e1", "timestamp": 1599391467000, "item": "p1"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({**ITEM, "fields": [{"name": "t", "value": "cat"}]}, {"t": "cat"}),
        ({**ITEM, "fields": [{"name": "n", "value": 3}]}, {"n": 3.0}),
        ({**ITEM, "fields": [{"name": "b", "value": True}]}, {"b": True}),
        ({**ITEM, "fields": [{"name": "l", "value": ["a", "b"]}]}, {"l": ("a", "b")}),
        ({**ITEM, "fields": [{"name": "l", "value": [1, 2.5]}]}, {"l": (1.0, 2.5)}),
        ({**ITEM, "fields": [{"name": "l", "value": []}]}, {"l": ()}),
        ({**ITEM, "event": "metadata"}, {}),
    ],
)
def test_item_fields_are_typed_by_json_shape(raw, expected):
    event = parse_event(raw)
    assert event.kind == "item" and event.fields == expected


@pytest.mark.parametrize(
    ("timestamp", "millis"),
    [
        (1599391467000, 1599391467000),
        ("1599391467000", 1599391467000),
        ("2022-06-22T11:21:39Z", 1655896899000),
        ("2022-06-22T13:21:39+02:00", 1655896899000),
        ("2004-10-28T23:41:18.916Z", 1099006878916),  # float arithmetic gave ...915
        ("1969-12-31T23:59:59.999Z", -1),
        (1.6e12, 1600000000000),
    ],
)
def test_timestamps(timestamp, millis):
    assert parse_event({**ITEM, "timestamp": timestamp}).timestamp == millis


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"id": "1"}, "required field 'event' is missing"),
        ({**ITEM, "event": "click"}, "event type 'click' is not supported, expected one of: item, metadata, user, ranking, interaction"),
        ({**ITEM, "id": ""}, "field 'id' must be a non-empty string, got \"\""),
        ({**ITEM, "timestamp": "yesterday"}, "field 'timestamp' must be epoch millis or ISO-8601, got \"yesterday\""),
        ({**ITEM, "timestamp": "2022-06-22T11:21:39"}, "field 'timestamp' must be epoch millis or ISO-8601, got \"2022-06-22T11:21:39\""),
        ({**ITEM, "timestamp": "\u00b2"}, "field 'timestamp' must be epoch millis or ISO-8601, got \"\u00b2\""),
        ({k: v for k, v in ITEM.items() if k != "item"}, "required field 'item' is missing"),
        ({**ITEM, "fields": [{"name": "x", "value": None}]}, "field 'x' has a null value"),
        ({**ITEM, "fields": [{"name": "x", "value": [True, False]}]}, "field 'x' is a list of mixed or unsupported types (boolean)"),
        ({**ITEM, "fields": [{"name": "x", "value": ["a", 1]}]}, "field 'x' is a list of mixed or unsupported types (number, string)"),
        ({**ITEM, "fields": [{"name": "x", "value": {"a": 1}}]}, "field 'x' has an unsupported value of type object"),
        ({**ITEM, "fields": [{"name": "x"}]}, "field 'fields[0]' ('x') has no 'value'"),
        ({**ITEM, "fields": {"x": 1}}, "field 'fields' must be a list of {name, value}, got object"),
        ({"event": "ranking", "id": "r", "timestamp": 1, "items": []}, "field 'items' must be a non-empty list of {id, relevancy?, fields?, label?}"),
        ({"event": "ranking", "id": "r", "timestamp": 1, "items": [{"id": "a", "relevancy": "x"}]}, "field 'items[0].relevancy' must be a number, got \"x\""),
        ({"event": "interaction", "id": "i", "timestamp": 1, "item": "p1"}, "required field 'type' is missing"),
        ([1], "event must be a JSON object, got list"),
        ({**ITEM, "fields": [{"name": "x", "value": float("inf")}]}, "field 'x' must be a finite number, got inf"),
        ({**ITEM, "fields": [{"name": "x", "value": float("nan")}]}, "field 'x' must be a finite number, got NaN"),
        ({**ITEM, "fields": [{"name": "x", "value": [1, 10**400]}]},
         f"field 'x[1]' must be a finite number, got {10**400!r}"),
        ({"event": "ranking", "id": "r", "timestamp": 1, "items": [{"id": "a", "relevancy": float("-inf")}]},
         "field 'items[0].relevancy' must be a finite number, got -inf"),
    ],
)
def test_event_errors_name_the_field(raw, message):
    with pytest.raises(EventError) as e:
        parse_event(raw)
    assert str(e.value) == message


def test_ranking_items_carry_0_7_fields_and_labels():
    r = parse_ranking_request({
        "id": "r1", "timestamp": 5, "user": "u1", "session": "s1",
        "items": [{"id": "a", "relevancy": 2, "fields": [{"name": "price", "value": 10}], "label": 3}, {"id": "b"}],
    })
    assert [(i.id, i.relevancy, i.fields, i.label) for i in r.items] == [("a", 2.0, {"price": 10.0}, 3.0), ("b", None, {}, None)]


def _write(path, lines):
    text = "\n".join(lines) + "\n"
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    elif path.name.endswith(".zst"):
        path.write_bytes(zstandard.ZstdCompressor().compress(text.encode()))
    else:
        path.write_text(text)


LINE = '{"event":"item","id":"%s","timestamp":1,"item":"p"}'


def test_directory_tree_in_sorted_order_all_formats(tmp_path):
    (tmp_path / "b").mkdir()
    _write(tmp_path / "a.jsonl", [LINE % "1"])
    _write(tmp_path / "b" / "c.json.gz", [LINE % "2"])
    _write(tmp_path / "b" / "d.jsonl.zst", [LINE % "3"])
    (tmp_path / "e.json").write_text("[" + LINE % "4" + ",\n " + LINE % "5" + "]")
    (tmp_path / "notes.yml").write_text("x: 1")
    ids = [e.id for e in read_events(tmp_path, Rejects("fail"))]
    assert ids == ["1", "2", "3", "4", "5"]


def test_bad_lines_are_skipped_with_location_and_counted(tmp_path):
    _write(tmp_path / "a.jsonl", [LINE % "1", "{oops", LINE % "2", '{"event":"item","id":"3","timestamp":1}'])
    rejects = Rejects("skip")
    ids = [e.id for e in read_events(tmp_path, rejects)]
    assert ids == ["1", "2"]
    assert rejects.count == 2
    assert rejects.messages[0].startswith(f"{tmp_path}/a.jsonl:2: invalid JSON")
    assert rejects.messages[1] == f"{tmp_path}/a.jsonl:4: required field 'item' is missing"


def test_fail_policy_stops_at_the_first_bad_line(tmp_path):
    _write(tmp_path / "a.jsonl", [LINE % "1", '{"event":"user","id":"u","timestamp":1}'])
    with pytest.raises(InputError, match=r"a.jsonl:2: required field 'user' is missing$"):
        list(read_events(tmp_path, Rejects("fail")))


def test_missing_and_empty_inputs(tmp_path):
    with pytest.raises(InputError) as e:
        event_files(tmp_path / "nope")
    assert str(e.value) == f"input path {tmp_path / 'nope'} does not exist"
    with pytest.raises(InputError, match="holds no event files"):
        event_files(tmp_path)


def test_leading_blank_lines_keep_their_line_numbers(tmp_path):
    (tmp_path / "a.jsonl").write_text("\n\n" + LINE % "1" + "\n{bad\n")
    rejects = Rejects("skip")
    assert [e.id for e in read_events(tmp_path, rejects)] == ["1"]
    assert rejects.messages[0].startswith(f"{tmp_path}/a.jsonl:4: invalid JSON")
