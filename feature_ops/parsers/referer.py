"""Referer classification for the ``referer`` feature (a compact take on snowplow's referer-parser).

>>> referer_medium("https://www.google.co.uk/search?q=shoes")
'search'
>>> referer_medium("https://mail.google.com/mail/u/0/")
'email'
>>> referer_medium("https://shop.example.com/cart", internal_domains=["example.com"])
'internal'
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from urllib.parse import parse_qsl, urlsplit

# The one-hot order of the feature vector.
MEDIUMS: tuple[str, ...] = ("unknown", "search", "internal", "social", "email", "paid")

_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?)*$")
_PAID_PARAMS = frozenset(
    {"gclid", "gbraid", "wbraid", "dclid", "msclkid", "yclid", "ttclid", "twclid", "li_fat_id"}
)
_PAID_UTM_MEDIUM = re.compile(r"^(?:cpc|ppc|cpm|cpv|cpa|cpp|ppv|paid.*|(?:.*[-_ ])?ads?|display|banner|sem)$")

# A host matches when it, or one of its parent domains, is listed. Checked in this order.
_EMAIL = frozenset({
    "mail.google.com", "inbox.google.com", "outlook.live.com", "outlook.office.com", "outlook.office365.com",
    "mail.live.com", "mail.yahoo.com", "mail.aol.com", "mail.yandex.ru", "mail.yandex.com", "e.mail.ru",
    "mail.proton.me", "mail.protonmail.com", "mail.zoho.com", "mail.zoho.eu", "app.fastmail.com",
    "fastmail.com", "mail.qq.com", "mail.163.com", "mail.126.com", "gmx.net", "gmx.de", "gmx.com",
    "mail.tutanota.com", "app.tuta.com", "mail.seznam.cz", "email.t-online.de", "navigator.web.de",
    "webmail.orange.fr", "mail.icloud.com", "com.google.android.gm", "com.microsoft.office.outlook",
})  # fmt: skip
_PAID = frozenset(
    {"googleadservices.com", "doubleclick.net", "googlesyndication.com", "adclick.g.doubleclick.net"}
)
_SEARCH = frozenset({
    "bing.com", "yahoo.com", "search.yahoo.com", "yahoo.co.jp", "duckduckgo.com", "baidu.com", "ecosia.org",
    "ask.com", "naver.com", "search.brave.com", "startpage.com", "qwant.com", "search.seznam.cz", "seznam.cz",
    "sogou.com", "so.com", "search.aol.com", "daum.net", "ya.ru", "yandex.com.tr", "you.com", "kagi.com",
    "search.naver.com", "com.google.android.googlequicksearchbox",
})  # fmt: skip
_SOCIAL = frozenset({
    "facebook.com", "fb.com", "fb.me", "messenger.com", "t.co", "twitter.com", "x.com", "instagram.com",
    "linkedin.com", "lnkd.in", "reddit.com", "redd.it", "pin.it", "tiktok.com", "youtube.com", "youtu.be",
    "vk.com", "ok.ru", "tumblr.com", "quora.com", "snapchat.com", "t.me", "telegram.org", "whatsapp.com",
    "wa.me", "discord.com", "threads.net", "mastodon.social", "weibo.com", "line.me", "news.ycombinator.com",
    "bsky.app", "xing.com", "com.facebook.katana", "com.instagram.android", "com.twitter.android",
    "com.linkedin.android", "com.reddit.frontpage", "com.zhiliaoapp.musically",
})  # fmt: skip
# Brands seen under many country domains: google.de, google.co.uk, yandex.ru, pinterest.fr, ...
_SEARCH_BRANDS = re.compile(r"(?:^|\.)(?:google|yandex)\.(?:(?:com?|org|net)\.)?[a-z]{2,3}$")
_SOCIAL_BRANDS = re.compile(r"(?:^|\.)pinterest\.(?:(?:com?)\.)?[a-z]{2,3}$")


def _parents(host: str) -> tuple[str, ...]:
    labels = host.split(".")
    return tuple(".".join(labels[i:]) for i in range(len(labels)))


def _host_and_query(url: str) -> tuple[str, str] | None:
    url = url.strip()
    if "://" not in url and not url.startswith("//"):
        url = "//" + url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return None
    if parts.scheme not in ("", "http", "https", "android-app") or not _HOST.match(host):
        return None
    return host.removeprefix("www."), parts.query


def _is_paid(query: str) -> bool:
    for key, value in parse_qsl(query, keep_blank_values=True):
        key = key.lower()
        if key in _PAID_PARAMS or (key == "utm_medium" and _PAID_UTM_MEDIUM.match(value.lower())):
            return True
    return False


def _external_medium(host: str, query: str) -> str:
    parents = _parents(host)
    if (query and _is_paid(query)) or not _PAID.isdisjoint(parents):
        return "paid"
    if not _EMAIL.isdisjoint(parents):
        return "email"
    if not _SEARCH.isdisjoint(parents) or _SEARCH_BRANDS.search(host):
        return "search"
    if not _SOCIAL.isdisjoint(parents) or _SOCIAL_BRANDS.search(host):
        return "social"
    return "unknown"


@functools.lru_cache(maxsize=8192)
def _classify(url: str) -> tuple[tuple[str, ...], str]:
    parsed = _host_and_query(url)
    if parsed is None:
        return (), "unknown"
    host, query = parsed
    return _parents(host), _external_medium(host, query)


def referer_medium(url: str, internal_domains: Collection[str] = ()) -> str:
    """The medium (one of ``MEDIUMS``) a visitor arrived from.

    A host equal to, or under, one of ``internal_domains`` is ``internal``; then paid markers
    (``gclid``, ``msclkid``, ``utm_medium=cpc``...; not ``fbclid``), webmail, search engines and
    social networks; anything else, or an unparsable URL, is ``unknown``.

    >>> referer_medium("https://l.facebook.com/l.php?u=x&fbclid=abc")
    'social'
    >>> referer_medium("https://www.example.org/?gclid=abc")
    'paid'
    >>> referer_medium("not a url")
    'unknown'
    """
    if not url:
        return "unknown"
    parents, medium = _classify(url)
    if parents and internal_domains and any(_internal_key(d) in parents for d in internal_domains):
        return "internal"
    return medium


def _internal_key(domain: str) -> str:
    return domain.strip().lower().rstrip(".").removeprefix("www.")
