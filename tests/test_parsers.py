"""Table tests for the text, user-agent and referer parsers (Metarank's cases first in each table)."""

from __future__ import annotations

import doctest

import pytest

from feature_ops.parsers import referer, text, useragent
from feature_ops.parsers.referer import MEDIUMS, referer_medium
from feature_ops.parsers.text import LANGUAGES, analyzer, jaccard, ngrams, term_set, tokenize
from feature_ops.parsers.useragent import BROWSERS, OPERATING_SYSTEMS, PLATFORMS, UserAgent, parse_user_agent


@pytest.mark.parametrize("module", [text, useragent, referer], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# ---- text -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "value", "expected"),
    [
        ("en", "mashed potatoes", ["mash", "potato"]),
        ("english", "greeting hamsters", ["greet", "hamster"]),
        ("en", "The cat's toys and a ball", ["cat", "toy", "ball"]),
        ("generic", "Hello, world!", ["hello", "world"]),
        ("generic", "running shoes", ["running", "shoes"]),
        ("generic", "e-mail foo_bar DON'T", ["e", "mail", "foo", "bar", "dont"]),
        ("generic", "U.S.A. costs 3.14", ["u.s.a", "costs", "3.14"]),
        ("generic", "我爱北京 東京タワー", ["我", "爱", "北", "京", "東", "京", "タワー"]),
        ("generic", "  ,;!  ", []),
        ("de", "Häuser Bücher", ["haus", "buch"]),
        ("fr", "chevaux", ["cheval"]),
        ("es", "zapatos", ["zapat"]),
        ("tr", "KİTAPLAR", ["kitap"]),
        ("gr", "ΚΑΛΗΜΕΡΑ", ["καλημερ"]),
    ],
)
def test_analyzer(language, value, expected):
    assert analyzer(language)(value) == expected


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [
        ("IŞIK", "tr", ["ışık"]),
        ("IŞIK", "generic", ["işik"]),
        ("Bob\u2019s café", "generic", ["bob", "café"]),
    ],
)
def test_tokenize(value, language, expected):
    assert tokenize(value, language) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_analyzes(language):
    tokens = analyzer(language)("Searching 42 items")
    assert tokens and all(isinstance(t, str) and t for t in tokens)


def test_unknown_language_error_names_the_choices():
    with pytest.raises(ValueError) as error:
        analyzer("klingon")
    assert str(error.value) == (
        "language 'klingon' is not supported, expected one of: generic, en, english, cz, czech, da, danish, "
        "nl, dutch, et, estonian, fi, finnish, fr, french, de, german, gr, greek, it, italian, no, norwegian, "
        "pl, polish, pt, portuguese, es, spanish, sv, swedish, tr, turkish, ar, arabic, zh, chinese, ja, japanese"
    )


@pytest.mark.parametrize(
    ("terms", "n", "expected"),
    [
        (["foobar"], 3, ["bar", "foo", "oba", "oob"]),
        (["foo"], 3, ["foo"]),
        (["ab"], 3, ["ab"]),
        (["aaaa"], 2, ["aa"]),
        (["foo", "foo", "of"], 2, ["fo", "of", "oo"]),
        ([], 3, []),
    ],
)
def test_ngrams(terms, n, expected):
    assert ngrams(terms, n) == expected


def test_ngrams_rejects_non_positive_n():
    with pytest.raises(ValueError, match="ngram size n must be >= 1, got 0"):
        ngrams(["foo"], 0)


@pytest.mark.parametrize(
    ("terms", "expected"),
    [(["b", "a", "b"], ["a", "b"]), ([], []), (["x"], ["x"])],
)
def test_term_set(terms, expected):
    assert term_set(terms) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (["a", "b"], ["a", "b"], 1.0),
        (["a", "b"], ["a"], 0.5),
        (["a"], ["b"], 0.0),
        ([], [], 0.0),
        ([], ["a"], 0.0),
        (["a", "b", "c"], ["b", "c", "d", "e"], 0.4),
        (ngrams(["foo"], 3), ngrams(["foobar"], 3), 0.25),
    ],
)
def test_jaccard(a, b, expected):
    assert jaccard(a, b) == pytest.approx(expected)
    assert jaccard(b, a) == pytest.approx(expected)


# ---- user agent -------------------------------------------------------------------------------------------

WIN10_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/98.0.4758.102 Safari/537.36"
)
UA_TABLE = [
    # Metarank's ua/*FieldTest strings
    ("Mozilla/4.0 (compatible; MSIE 9.0; Windows NT 6.1)", ("desktop", "Windows", "ie", False)),
    (WIN10_CHROME, ("desktop", "Windows", "chrome", False)),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 13_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/13.1.1 Mobile/15E148 Safari/604.1",
        ("mobile", "iOS", "safari", False),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/70.0.3538.102 Safari/537.36 Edge/18.18363",
        ("desktop", "Windows", "edge", False),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/14.1.2 Safari/605.1.15",
        ("desktop", "Mac OS X", "safari", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 11; Samsung SM-A025G) AppleWebKit/535.19 (KHTML, like Gecko) "
        "Chrome/18.0.1025.166 Mobile Safari/535.19",
        ("mobile", "Android", "chrome", False),
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 15_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "CriOS/99.0.4844.47 Mobile/15E148 Safari/604.1",
        ("tablet", "iOS", "chrome", False),
    ),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", (None, None, None, True)),
    ("whatever", (None, None, None, False)),
    ("", (None, None, None, False)),
    # browsers
    (
        "Mozilla/5.0 (iPad; CPU OS 12_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/12.1 Mobile/15E148 Safari/604.1",
        ("tablet", "iOS", "safari", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 12; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        ("tablet", "Android", "chrome", False),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        ("desktop", "Windows", "edge", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.144 Mobile Safari/537.36 EdgA/120.0.2210.115",
        ("mobile", "Android", "edge", False),
    ),
    (
        "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        ("desktop", "Linux", "firefox", False),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        ("desktop", "Windows", "firefox", False),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
        ("mobile", "iOS", "firefox", False),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
        ("desktop", "Windows", "opera", False),
    ),
    (
        "Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.18",
        ("desktop", "Windows", "opera", False),
    ),
    (
        "Opera/9.80 (Android; Opera Mini/36.2.2254/119.132; U; id) Presto/2.12.423 Version/12.16",
        ("mobile", "Android", "opera", False),
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        ("desktop", "Mac OS X", "chrome", False),
    ),
    (
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36",
        ("desktop", "Chrome OS", "chrome", False),
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
        ("desktop", "Windows", "ie", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
        "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        ("mobile", "Android", "other", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Silk/120.2.1 like Chrome/120.0.6099.230 Safari/537.36",
        ("tablet", "Android", "other", False),
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Mobile/15E148 Instagram 302.0.0.23.114 (iPhone14,5; iOS 16_6; en_US; en; scale=3.00)",
        ("mobile", "iOS", "other", False),
    ),
    (
        "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 "
        "(KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
        ("mobile", None, "edge", False),
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; CUBOT_X30) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.144 Mobile Safari/537.36",
        ("mobile", "Android", "chrome", False),
    ),
    # bots and HTTP clients
    (
        "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        ("mobile", "Android", "chrome", True),
    ),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", (None, None, None, True)),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", (None, None, None, True)),
    (
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        (None, None, None, True),
    ),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", (None, None, None, True)),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", (None, None, None, True)),
    ("Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)", (None, None, None, True)),
    ("AdsBot-Google (+http://www.google.com/adsbot.html)", (None, None, None, True)),
    ("curl/8.4.0", (None, None, None, True)),
    ("Wget/1.21.2", (None, None, None, True)),
    ("python-requests/2.31.0", (None, None, None, True)),
    (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/120.0.6099.109 Safari/537.36",
        ("desktop", "Linux", "chrome", True),
    ),
]


@pytest.mark.parametrize(("ua", "expected"), UA_TABLE)
def test_parse_user_agent(ua, expected):
    assert parse_user_agent(ua) == UserAgent(*expected)


@pytest.mark.parametrize(("ua", "expected"), UA_TABLE)
def test_user_agent_values_are_vocabulary_members(ua, expected):
    parsed = parse_user_agent(ua)
    assert parsed.platform is None or parsed.platform in PLATFORMS
    assert parsed.os is None or parsed.os in OPERATING_SYSTEMS
    assert parsed.browser is None or parsed.browser in BROWSERS


def test_user_agent_vocabularies_keep_metarank_order():
    assert PLATFORMS == ("mobile", "desktop", "tablet")
    assert OPERATING_SYSTEMS == ("iOS", "Android", "Windows", "Mac OS X", "Linux", "Chrome OS")
    assert BROWSERS == ("safari", "chrome", "other", "edge", "firefox", "opera", "ie")


# ---- referer ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "internal", "expected"),
    [
        # unknown
        ("", (), "unknown"),
        ("not a url", (), "unknown"),
        ("javascript:void(0)", (), "unknown"),
        ("file:///etc/hosts", (), "unknown"),
        ("http://[::1", (), "unknown"),
        ("https://www.example.org/blog/post", (), "unknown"),
        ("https://brave.com/download", (), "unknown"),
        ("https://example.org/?utm_medium=email", (), "unknown"),
        ("https://example.org/?utm_medium=lead", (), "unknown"),
        # search
        ("https://www.google.com/search?q=shoes", (), "search"),
        ("https://www.google.co.uk/", (), "search"),
        ("https://google.de/url?q=x", (), "search"),
        ("HTTPS://WWW.Google.COM:443/search", (), "search"),
        ("google.com/search?q=1", (), "search"),
        ("https://www.bing.com/search?q=x", (), "search"),
        ("https://search.yahoo.com/search?p=x", (), "search"),
        ("https://duckduckgo.com/", (), "search"),
        ("https://yandex.ru/search/?text=x", (), "search"),
        ("https://www.baidu.com/s?wd=x", (), "search"),
        ("https://www.ecosia.org/search?q=x", (), "search"),
        ("https://www.ask.com/web?q=x", (), "search"),
        ("https://search.naver.com/search.naver?query=x", (), "search"),
        ("https://search.brave.com/search?q=x", (), "search"),
        ("android-app://com.google.android.googlequicksearchbox/", (), "search"),
        # social
        ("https://www.facebook.com/", (), "social"),
        ("https://m.facebook.com/story.php", (), "social"),
        ("https://l.facebook.com/l.php?u=x&fbclid=IwAR0", (), "social"),
        ("https://t.co/abc123", (), "social"),
        ("https://twitter.com/someone", (), "social"),
        ("https://x.com/someone", (), "social"),
        ("https://www.instagram.com/", (), "social"),
        ("https://www.linkedin.com/feed/", (), "social"),
        ("https://lnkd.in/abc", (), "social"),
        ("https://old.reddit.com/r/python", (), "social"),
        ("https://www.pinterest.com/pin/1", (), "social"),
        ("https://uk.pinterest.co.uk/", (), "social"),
        ("https://www.tiktok.com/@someone", (), "social"),
        ("https://www.youtube.com/watch?v=x", (), "social"),
        ("https://vk.com/feed", (), "social"),
        # email
        ("https://mail.google.com/mail/u/0/", (), "email"),
        ("https://outlook.live.com/mail/0/inbox", (), "email"),
        ("https://mail.yahoo.com/d/folders/1", (), "email"),
        ("https://us-mg6.mail.yahoo.com/neo/launch", (), "email"),
        ("https://mail.yandex.ru/", (), "email"),
        # paid
        ("https://www.google.com/search?q=shoes&gclid=EAIaIQ", (), "paid"),
        ("https://example.org/landing?utm_source=google&utm_medium=cpc", (), "paid"),
        ("https://example.org/landing?utm_medium=PPC", (), "paid"),
        ("https://example.org/landing?utm_medium=paid_social", (), "paid"),
        ("https://example.org/landing?utm_medium=display", (), "paid"),
        ("https://www.bing.com/?msclkid=abc", (), "paid"),
        ("https://www.googleadservices.com/pagead/aclk?sa=L", (), "paid"),
        # internal
        ("https://shop.com/cart", ("shop.com",), "internal"),
        ("https://blog.shop.com/post", ["shop.com"], "internal"),
        ("https://www.shop.com/", {"www.shop.com"}, "internal"),
        ("https://shop.com/?gclid=abc", ("shop.com",), "internal"),
        ("https://shop.com.evil.io/", ("shop.com",), "unknown"),
        ("https://myshop.com/", ("shop.com",), "unknown"),
        ("https://www.google.com/", ("shop.com",), "search"),
        ("not a url", ("shop.com",), "unknown"),
    ],
)
def test_referer_medium(url, internal, expected):
    assert referer_medium(url, internal) == expected


def test_mediums_keep_one_hot_order():
    assert MEDIUMS == ("unknown", "search", "internal", "social", "email", "paid")
