"""Table tests for window_count, interacted_with, field_match, ua, referer and diversity.

Values are computed by a real Engine over a MemoryStore, so item field joins and state reducers run as in
bootstrap. Metarank 0.4.1's own cases come first in each table.
"""

from __future__ import annotations

import math
import re

import pytest
import yaml
from pydantic import TypeAdapter

from feature_ops.config import ConfigError, parse_config
from feature_ops.engine import Engine
from feature_ops.events import parse_event
from feature_ops.features import (
    AnyFeatureConfig,
    build_feature,
    diversity,
    field_match,
    interacted_with,
    referer,
    ua,
    window_count,
)
from feature_ops.store import MemoryStore

H = 3_600_000
ADAPTER = TypeAdapter(AnyFeatureConfig)
BASE = {
    "models": {"m": {"type": "noop"}},
    "bootstrap": {
        "workdir": "/tmp/rankstream-test",
        "source": {"type": "file", "path": "/tmp/rankstream-test/events"},
        "syntheticImpression": {"enabled": False},
    },
    "inference": {"source": {"type": "rest"}, "state": {"type": "memory"}},
}
MSIE9 = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 15_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/15.0 Mobile/15E148 Safari/604.1"
)
MAC_CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def _fields(fields: dict) -> list[dict]:
    return [{"name": k, "value": v} for k, v in fields.items()]


def item(item_id: str, ts: int = 0, **fields):
    return parse_event(
        {
            "event": "item",
            "id": f"e-{item_id}-{ts}",
            "timestamp": ts,
            "item": item_id,
            "fields": _fields(fields),
        }
    )


def user(user_id: str, ts: int = 0, **fields):
    return parse_event(
        {
            "event": "user",
            "id": f"u-{user_id}-{ts}",
            "timestamp": ts,
            "user": user_id,
            "fields": _fields(fields),
        }
    )


def click(item_id: str, ts: int = 0, kind: str = "click", user_id: str = "u1", session: str = "s1", **fields):
    return parse_event(
        {
            "event": "interaction",
            "id": f"c-{item_id}-{ts}",
            "timestamp": ts,
            "item": item_id,
            "type": kind,
            "user": user_id,
            "session": session,
            "fields": _fields(fields),
        }
    )


def ranking(items, ts: int = 10 * H, user_id: str | None = "u1", session: str | None = "s1", **fields):
    rows = [it if isinstance(it, dict) else {"id": it} for it in items]
    return parse_event(
        {
            "event": "ranking",
            "id": f"r-{ts}",
            "timestamp": ts,
            "items": rows,
            "user": user_id,
            "session": session,
            "fields": _fields(fields),
        }
    )


def feature_values(feature: dict, events: list, request) -> dict[str, list[float]]:
    """Column name -> values, after driving the events through a real engine."""
    engine = Engine(parse_config({**BASE, "features": [feature]}), MemoryStore())
    for event in events:
        engine.process(event)
    built = engine.features.by_name[feature["name"]]
    columns = engine.values(request, online=False)[feature["name"]]
    assert all(len(col) == len(request.items) for col in columns)
    return dict(zip(built.columns(), columns, strict=True))


def same(actual: dict, expected: dict) -> bool:
    def eq(a, b):
        return (
            (math.isnan(a) and math.isnan(b))
            if isinstance(b, float) and math.isnan(b)
            else a == pytest.approx(b)
        )

    return actual.keys() == expected.keys() and all(
        len(actual[k]) == len(v) and all(eq(a, b) for a, b in zip(actual[k], v, strict=True))
        for k, v in expected.items()
    )


NAN = math.nan
WC = {"name": "cnt", "type": "window_count", "interaction": "click", "bucket": "1h", "periods": [0, 2]}
IW = {
    "name": "liked",
    "type": "interacted_with",
    "interaction": "click",
    "field": "item.color",
    "scope": "user",
}
FM = {
    "name": "match",
    "type": "field_match",
    "rankingField": "ranking.query",
    "itemField": "item.title",
    "method": {"type": "ngram", "n": 3},
}
FM_TERM = {**FM, "method": {"type": "term", "language": "en"}}
UA = {"name": "platform", "type": "ua", "source": "ranking.ua", "field": "platform"}
REF = {"name": "ref", "type": "referer", "source": "ranking.referer"}
DIV = {"name": "div", "type": "diversity", "source": "item.price"}


# ---- config -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "module",
    [window_count, interacted_with, field_match, ua, referer, diversity],
    ids=lambda m: m.__name__.rsplit(".", 1)[-1],
)
def test_docstring_yaml_example_parses(module):
    example = re.search(r"```yaml\n(.*?)```", module.__doc__, re.S).group(1)
    for raw in yaml.safe_load(example):
        config = ADAPTER.validate_python(raw)
        assert ADAPTER.validate_python(config.model_dump(mode="json", by_alias=True)) == config


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (WC, {"bucket": H, "periods": [0, 2], "scope": "item", "ttl": 90 * 24 * H}),
        ({**WC, "scope": "session"}, {"scope": "session"}),
        (IW, {"count": 10, "duration": 24 * H, "fields": ["color"]}),
        (
            {**IW, "field": ["item.color", "metadata.size"], "count": 5, "duration": "1h"},
            {"count": 5, "duration": H, "fields": ["color", "size"]},
        ),
        (FM, {"method": field_match.NgramMethod(type="ngram", language="generic", n=3)}),
        (
            {**FM, "method": {"type": "term"}},
            {"method": field_match.TermMethod(type="term", language="generic")},
        ),
        (UA, {"field": "platform"}),
        (REF, {"scope": "session", "internalDomains": []}),
        (
            {**REF, "source": "user.referer", "scope": "user", "internalDomains": ["shop.com"]},
            {"scope": "user", "internalDomains": ["shop.com"]},
        ),
        ({**REF, "source": "interaction:click.referer"}, {"scope": "session"}),
        (DIV, {"top": 20}),
    ],
    ids=lambda v: v.get("type", "") if isinstance(v, dict) and "name" in v else "",
)
def test_config_parse_and_round_trip(raw, expected):
    config = ADAPTER.validate_python(raw)
    for key, value in expected.items():
        assert getattr(config, key) == value
    assert ADAPTER.validate_python(config.model_dump(mode="json", by_alias=True)) == config


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({**IW, "field": "user.color"}, "field: interacted_with can only use item fields, got 'user.color'"),
        (
            {**IW, "field": ["item.color", "interaction:click.size"]},
            "field: interacted_with can only use item fields, got 'interaction:click.size'",
        ),
        (
            {**IW, "field": "color"},
            "field: cannot decode source field 'color': expected <event>.<field> with event item, user, ranking "
            "or interaction:<type>",
        ),
        ({**IW, "scope": "item"}, "scope: interacted_with can only be scoped to user or session, got 'item'"),
        (
            {**IW, "field": ["item.color_last", "item.color"]},
            "field: interacted_with fields 'item.color' and 'item.color_last' would share a state; drop one",
        ),
        ({k: v for k, v in IW.items() if k != "scope"}, "scope: required key is missing"),
        ({**FM, "method": {"type": "ngram"}}, "method.ngram.n: required key is missing"),
        ({**FM, "method": {"type": "term", "n": 3}}, "method.term.n: unknown key"),
        (
            {**FM, "rankingField": "item.query"},
            "rankingField: field_match rankingField must be a ranking field, got 'item.query'",
        ),
        (
            {**FM, "itemField": "user.title"},
            "itemField: field_match itemField must be an item field, got 'user.title'",
        ),
        (
            {**FM_TERM, "method": {"type": "term", "language": "klingon"}},
            "method.term.language: language 'klingon' is not supported, expected one of: generic, en, english",
        ),
        ({**UA, "source": "item.ua"}, "source: ua can only use ranking fields, got 'item.ua'"),
        (
            {**UA, "field": "device"},
            "field: input should be 'platform', 'os', 'browser' or 'bot', got 'device'",
        ),
        (
            {**REF, "source": "item.referer"},
            "source: referer can only use user, ranking or interaction fields, got 'item.referer'",
        ),
        (
            {**REF, "source": "user.referer"},
            ": scope 'session' cannot be filled from source 'user.referer' (user events carry no session id)",
        ),
        (
            {**DIV, "source": "ranking.price"},
            "source: diversity can only use item fields, got 'ranking.price'",
        ),
        ({**DIV, "top": 0}, "top: input should be greater than 0, got 0"),
        ({**WC, "periods": [-1]}, "periods: periods must be non-negative bucket counts"),
        (
            {**WC, "scope": "ranking"},
            "scope: input should be 'item', 'user', 'session', 'global' or 'tenant', got 'ranking'",
        ),
    ],
)
def test_config_errors(raw, message):
    with pytest.raises(ConfigError) as e:
        parse_config({**BASE, "features": [raw]})
    assert str(e.value).startswith(
        f"config: features[0] ({raw['name']}){'.' if message[0] != ':' else ''}{message}"
    )


@pytest.mark.parametrize(
    ("raw", "columns"),
    [
        (WC, ["cnt_0", "cnt_2"]),
        (IW, ["liked"]),
        ({**IW, "field": ["item.color"]}, ["liked"]),
        ({**IW, "field": ["item.color", "item.size"]}, ["liked_color", "liked_size"]),
        (FM, ["match"]),
        (UA, ["platform_mobile", "platform_desktop", "platform_tablet"]),
        (
            {**UA, "field": "os"},
            [f"platform_{v}" for v in ("iOS", "Android", "Windows", "Mac OS X", "Linux", "Chrome OS")],
        ),
        (
            {**UA, "field": "browser"},
            [f"platform_{v}" for v in ("safari", "chrome", "other", "edge", "firefox", "opera", "ie")],
        ),
        ({**UA, "field": "bot"}, ["platform_bot"]),
        (REF, ["ref_unknown", "ref_search", "ref_internal", "ref_social", "ref_email", "ref_paid"]),
        (DIV, ["div"]),
    ],
)
def test_columns(raw, columns):
    assert build_feature(ADAPTER.validate_python(raw)).columns() == columns


# ---- writes -------------------------------------------------------------------------------------------------


def _joined(event, **item_fields):
    event.item_fields = {k: tuple(v) if isinstance(v, list) else v for k, v in item_fields.items()}
    return event


@pytest.mark.parametrize(
    ("raw", "event", "writes"),
    [
        (WC, click("p1", kind="click"), [("cnt", "p1", 1)]),
        (WC, click("p1", kind="purchase"), []),
        (WC, item("p1", color="red"), []),
        (WC, ranking(["p1"]), []),
        ({**WC, "scope": "session"}, click("p1"), [("cnt", "s1", 1)]),
        ({**WC, "scope": "global"}, click("p1"), [("cnt", "global", 1)]),
        # Metarank: puts on string and list item fields, appends the clicked item's values
        (IW, item("p1", color="red"), [("liked_color", "p1", ("red",))]),
        (IW, item("p1", color=["red", "blue"]), [("liked_color", "p1", ("red", "blue"))]),
        (IW, item("p1", size="xl"), []),
        (IW, _joined(click("p1"), color="red"), [("liked_color_last", "u1", ("red",))]),
        (
            {**IW, "scope": "session"},
            _joined(click("p1"), color=["red", "blue"]),
            [("liked_color_last", "s1", ("red", "blue"))],
        ),
        (IW, _joined(click("p1", kind="like"), color="red"), []),
        (IW, _joined(click("p1")), []),
        (
            {**IW, "field": ["item.color", "item.size"]},
            _joined(click("p1"), color="red", size="xl"),
            [("liked_color_last", "u1", ("red",)), ("liked_size_last", "u1", ("xl",))],
        ),
        # Metarank: item "foobar" -> trigrams
        (FM, item("p1", title="foobar"), [("match", "p1", ("bar", "foo", "oba", "oob"))]),
        (FM_TERM, item("p1", title="Mashed potatoes, mashed"), [("match", "p1", ("mash", "potato"))]),
        (FM, item("p1", title=""), [("match", "p1", ())]),
        (FM, item("p1", other="foobar"), []),
        (FM, click("p1", title="foobar"), []),
        (UA, ranking(["p1"], ua=MSIE9), []),
        (
            REF,
            ranking(["p1"], referer="https://www.google.com/search?q=x"),
            [("ref", "s1", ("search", True))],
        ),
        (
            {**REF, "source": "user.referer", "scope": "user"},
            user("u7", referer="https://t.co/abc"),
            [("ref", "u7", ("social", True))],
        ),
        (
            {**REF, "source": "interaction:click.referer"},
            click("p1", referer="https://mail.google.com/"),
            [("ref", "s1", ("email", True))],
        ),
        (
            {**REF, "source": "interaction:click.referer"},
            click("p1", kind="like", referer="https://t.co/"),
            [],
        ),
        (
            {**REF, "internalDomains": ["shop.com"]},
            ranking(["p1"], referer="https://www.shop.com/cart"),
            [("ref", "s1", ("internal", True))],
        ),
        (REF, ranking(["p1"], session=None, referer="https://t.co/"), []),
        (DIV, item("p1", price=10), [("div", "p1", 10.0)]),
        (DIV, item("p1", price="cheap"), [("div", "p1", ("cheap",))]),
        (DIV, item("p1", price=["a", "b"]), [("div", "p1", ("a", "b"))]),
        (DIV, item("p1", price=True), []),
        (DIV, item("p1", other=1), []),
    ],
)
def test_writes(raw, event, writes):
    assert list(build_feature(ADAPTER.validate_python(raw)).writes(event)) == writes


@pytest.mark.parametrize(
    ("raw", "fields"),
    [
        (IW, {"color"}),
        ({**IW, "field": ["item.color", "item.size"]}, {"color", "size"}),
        (FM, set()),
        (DIV, set()),
    ],
)
def test_item_fields_join(raw, fields):
    assert build_feature(ADAPTER.validate_python(raw)).item_fields() == fields


# ---- values through the engine ------------------------------------------------------------------------------

VALUE_CASES = [
    # window_count: Metarank's "increments on click, ignores item/ranking"; periods anchored at the ranking time
    (
        "window_count",
        WC,
        [
            click("p1", 0),
            click("p1", H + 1),
            click("p1", 3 * H + 5),
            click("p2", 3 * H),
            click("p1", 3 * H, kind="like"),
            item("p1", 3 * H),
        ],
        ranking(["p1", "p2", "p3"], ts=3 * H + 10),
        {"cnt_0": [1.0, 1.0, 0.0], "cnt_2": [2.0, 1.0, 0.0]},
    ),
    (
        "window_count decays",
        WC,
        [click("p1", 0)],
        ranking(["p1"], ts=5 * H),
        {"cnt_0": [0.0], "cnt_2": [0.0]},
    ),
    (
        "window_count session",
        {**WC, "scope": "session"},
        [click("p1", 0, session="s1"), click("p2", 1, session="s2")],
        ranking(["p1", "p2"], ts=10, session="s1"),
        {"cnt_0": [1.0, 1.0], "cnt_2": [1.0, 1.0]},
    ),
    (
        "window_count no session",
        {**WC, "scope": "session"},
        [click("p1", 0)],
        ranking(["p1"], ts=10, session=None),
        {"cnt_0": [0.0], "cnt_2": [0.0]},
    ),
    # interacted_with: Metarank's red/green/unknown -> 1/0/0 (the item field join runs in the engine)
    (
        "interacted_with",
        IW,
        [item("p1", 0, color="red"), item("p2", 0, color="green"), click("p1", H)],
        ranking(["p1", "p2", "p3"]),
        {"liked": [1.0, 0.0, 0.0]},
    ),
    (
        "interacted_with counts",
        IW,
        [
            item("p1", 0, color=["red", "blue"]),
            item("p2", 0, color="red"),
            item("p3", 0, color="blue"),
            click("p1", H),
            click("p2", H + 1),
        ],
        ranking(["p1", "p2", "p3"]),
        {"liked": [3.0, 2.0, 1.0]},
    ),
    (
        "interacted_with other user",
        IW,
        [item("p1", 0, color="red"), click("p1", H, user_id="u2")],
        ranking(["p1"]),
        {"liked": [0.0]},
    ),
    (
        "interacted_with no user",
        IW,
        [item("p1", 0, color="red"), click("p1", H)],
        ranking(["p1"], user_id=None),
        {"liked": [0.0]},
    ),
    (
        "interacted_with duration",
        {**IW, "duration": "1h"},
        [item("p1", 0, color="red"), click("p1", H)],
        ranking(["p1"], ts=3 * H),
        {"liked": [0.0]},
    ),
    (
        "interacted_with count",
        {**IW, "count": 1},
        [item("p1", 0, color="red"), item("p2", 0, color="green"), click("p1", H), click("p2", H + 1)],
        ranking(["p1", "p2"]),
        {"liked": [0.0, 1.0]},
    ),
    (
        "interacted_with field changed after click",
        IW,
        [item("p1", 0, color="red"), click("p1", H), item("p1", 2 * H, color="green")],
        ranking(["p1", {"id": "p9", "fields": [{"name": "color", "value": "red"}]}]),
        {"liked": [0.0, 1.0]},
    ),
    (
        "interacted_with two fields",
        {**IW, "field": ["item.color", "item.size"], "scope": "session"},
        [item("p1", 0, color="red", size="xl"), item("p2", 0, color="red", size="s"), click("p1", H)],
        ranking(["p1", "p2"]),
        {"liked_color": [1.0, 1.0], "liked_size": [1.0, 0.0]},
    ),
    # field_match: Metarank's "foobar" vs "foo" trigrams -> 0.25
    (
        "field_match",
        FM,
        [item("p1", 0, title="foobar")],
        ranking(["p1", "p2"], query="foo"),
        {"match": [0.25, 0.0]},
    ),
    (
        "field_match no query",
        FM,
        [item("p1", 0, title="foobar")],
        ranking(["p1", "p2"]),
        {"match": [NAN, NAN]},
    ),
    (
        "field_match term",
        FM_TERM,
        [item("p1", 0, title="Mashed potatoes"), item("p2", 0, title="Red potato")],
        ranking(["p1", "p2"], query="potatoes"),
        {"match": [0.5, 0.5]},
    ),
    (
        "field_match request override",
        FM,
        [item("p1", 0, title="foobar")],
        ranking([{"id": "p1", "fields": [{"name": "title", "value": "foo"}]}], query="foo"),
        {"match": [1.0]},
    ),
    (
        "field_match list query",
        FM_TERM,
        [item("p1", 0, title="red shoes")],
        ranking(["p1"], query=["red", "boots"]),
        {"match": [1 / 3]},
    ),
    # ua: Metarank's MSIE 9 on Windows -> desktop; os is a real one-hot (always zero in Metarank)
    (
        "ua platform",
        UA,
        [],
        ranking(["p1", "p2"], ua=MSIE9),
        {"platform_mobile": [0.0, 0.0], "platform_desktop": [1.0, 1.0], "platform_tablet": [0.0, 0.0]},
    ),
    (
        "ua os",
        {**UA, "name": "os", "field": "os"},
        [],
        ranking(["p1"], ua=IPHONE),
        {
            "os_iOS": [1.0],
            "os_Android": [0.0],
            "os_Windows": [0.0],
            "os_Mac OS X": [0.0],
            "os_Linux": [0.0],
            "os_Chrome OS": [0.0],
        },
    ),
    (
        "ua os windows",
        {**UA, "name": "os", "field": "os"},
        [],
        ranking(["p1"], ua=MSIE9),
        {
            "os_iOS": [0.0],
            "os_Android": [0.0],
            "os_Windows": [1.0],
            "os_Mac OS X": [0.0],
            "os_Linux": [0.0],
            "os_Chrome OS": [0.0],
        },
    ),
    (
        "ua browser",
        {**UA, "name": "b", "field": "browser"},
        [],
        ranking(["p1"], ua=MAC_CHROME),
        {
            "b_safari": [0.0],
            "b_chrome": [1.0],
            "b_other": [0.0],
            "b_edge": [0.0],
            "b_firefox": [0.0],
            "b_opera": [0.0],
            "b_ie": [0.0],
        },
    ),
    ("ua bot", {**UA, "name": "b", "field": "bot"}, [], ranking(["p1"], ua=GOOGLEBOT), {"b_bot": [1.0]}),
    ("ua not bot", {**UA, "name": "b", "field": "bot"}, [], ranking(["p1"], ua=MSIE9), {"b_bot": [0.0]}),
    (
        "ua missing",
        UA,
        [],
        ranking(["p1"]),
        {"platform_mobile": [0.0], "platform_desktop": [0.0], "platform_tablet": [0.0]},
    ),
    (
        "ua unknown",
        UA,
        [],
        ranking(["p1"], ua="curl/8.0"),
        {"platform_mobile": [0.0], "platform_desktop": [0.0], "platform_tablet": [0.0]},
    ),
    # referer: Metarank's medium from the referer URL, multi-hot from state, fixed column order
    (
        "referer",
        REF,
        [
            ranking(["p1"], ts=0, referer="https://t.co/x"),
            ranking(["p1"], ts=1, referer="https://www.google.de/"),
        ],
        ranking(["p1", "p2"], ts=2),
        {
            "ref_unknown": [0.0, 0.0],
            "ref_search": [1.0, 1.0],
            "ref_internal": [0.0, 0.0],
            "ref_social": [1.0, 1.0],
            "ref_email": [0.0, 0.0],
            "ref_paid": [0.0, 0.0],
        },
    ),
    (
        "referer user scope",
        {**REF, "source": "user.referer", "scope": "user"},
        [user("u1", 0, referer="https://mail.google.com/")],
        ranking(["p1"], ts=2),
        {
            "ref_unknown": [0.0],
            "ref_search": [0.0],
            "ref_internal": [0.0],
            "ref_social": [0.0],
            "ref_email": [1.0],
            "ref_paid": [0.0],
        },
    ),
    (
        "referer missing",
        REF,
        [ranking(["p1"], ts=0, session="s2", referer="https://t.co/x")],
        ranking(["p1"], ts=2),
        {
            "ref_unknown": [0.0],
            "ref_search": [0.0],
            "ref_internal": [0.0],
            "ref_social": [0.0],
            "ref_email": [0.0],
            "ref_paid": [0.0],
        },
    ),
    # diversity
    (
        "diversity numbers",
        DIV,
        [item("p1", 0, price=10), item("p2", 0, price=20), item("p3", 0, price=40)],
        ranking(["p1", "p2", "p3", "p4"]),
        {"div": [-10.0, 0.0, 20.0, NAN]},
    ),
    (
        "diversity top",
        {**DIV, "top": 2},
        [item("p1", 0, price=10), item("p2", 0, price=20), item("p3", 0, price=40)],
        ranking(["p1", "p2", "p3"]),
        {"div": [-5.0, 5.0, 25.0]},
    ),
    (
        "diversity strings",
        DIV,
        [item("p1", 0, price="a"), item("p2", 0, price=["a", "b"]), item("p3", 0, price="c")],
        ranking(["p1", "p2", "p3", "p4"]),
        {"div": [0.5, 0.75, 0.25, NAN]},
    ),
    (
        "diversity request override",
        DIV,
        [item("p1", 0, price=10)],
        ranking(["p1", {"id": "p2", "fields": [{"name": "price", "value": 30}]}]),
        {"div": [-10.0, 10.0]},
    ),
]


@pytest.mark.parametrize(
    ("raw", "events", "request_", "expected"), [c[1:] for c in VALUE_CASES], ids=[c[0] for c in VALUE_CASES]
)
def test_values(raw, events, request_, expected):
    actual = feature_values(raw, events, request_)
    assert same(actual, expected), actual


def test_field_match_caches_query_tokens():
    feature = build_feature(ADAPTER.validate_python(FM))
    assert feature._query_tokens("foo") is feature._query_tokens("foo")


def test_engine_attaches_item_fields_for_interacted_with():
    engine = Engine(parse_config({**BASE, "features": [IW]}), MemoryStore())
    engine.process(item("p1", 0, color="red", size="xl"))
    engine.process(click("p1", H))
    records = {(state, sid): record[0] for state, sid, record in engine.latest()}
    assert records == {("liked_color", "p1"): ("red",), ("liked_color_last", "u1"): ((H, ("red",)),)}


@pytest.mark.parametrize(
    ("raw", "kinds"),
    [
        (WC, {"interaction"}),
        (IW, {"item", "interaction"}),
        (FM, {"item"}),
        (UA, set()),
        (REF, {"ranking"}),
        ({**REF, "source": "interaction:click.referer"}, {"interaction"}),
        (DIV, {"item"}),
    ],
)
def test_write_kinds(raw, kinds):
    assert build_feature(ADAPTER.validate_python(raw)).write_kinds() == kinds
