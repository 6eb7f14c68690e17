"""User-agent parsing for the ``ua`` feature, with compact ordered regex rules.

Every returned value is a member of the one-hot vocabularies below (Metarank's os
one-hot was always zero because its parser returned ``ios`` against a vocabulary of ``iOS``).

>>> parse_user_agent("Mozilla/4.0 (compatible; MSIE 9.0; Windows NT 6.1)")
UserAgent(platform='desktop', os='Windows', browser='ie', bot=False)
>>> parse_user_agent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)").bot
True
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

PLATFORMS: tuple[str, ...] = ("mobile", "desktop", "tablet")
OPERATING_SYSTEMS: tuple[str, ...] = ("iOS", "Android", "Windows", "Mac OS X", "Linux", "Chrome OS")
BROWSERS: tuple[str, ...] = ("safari", "chrome", "other", "edge", "firefox", "opera", "ie")


class UserAgent(NamedTuple):
    """Parsed user agent; ``None`` where a field is unknown."""

    platform: str | None
    os: str | None
    browser: str | None
    bot: bool


def _rules(*pairs: tuple[str, str | None]) -> tuple[tuple[re.Pattern[str], str | None], ...]:
    return tuple((re.compile(pattern), value) for pattern, value in pairs)


# Patterns are lowercase and run on the lowercased agent (much faster than re.IGNORECASE).
# First match wins: each rule must come before the rules its user agents also match.
_OS_RULES = _rules(
    (r"windows phone|windows mobile|windows ce", None),
    (r" cros[ ;)]", "Chrome OS"),
    (r"iphone|ipad|ipod|[ (;]ios\b|cfnetwork/.*darwin", "iOS"),
    (r"android", "Android"),
    (r"windows|win(?:nt|9[58]|64|32)\b", "Windows"),
    (r"macintosh|mac os x|mac_powerpc", "Mac OS X"),
    (r"linux|x11|ubuntu|fedora", "Linux"),
)
_BROWSER_RULES = _rules(
    (
        r"samsungbrowser|yabrowser|ucbrowser|ucweb|instagram|fban|fbav|seamonkey|silk/|vivaldi|qqbrowser",
        "other",
    ),
    (r"edg(?:e|a|ios)?/", "edge"),
    (r"opr/|opera|opios/| opt/", "opera"),
    (r"firefox/|fxios/", "firefox"),
    (r"msie |trident/", "ie"),
    (r"chrome/|crios/|chromium/", "chrome"),
    (r"^(?!.*android).*safari/|(?:iphone|ipad|ipod).*applewebkit.*mobile/", "safari"),
)
_TABLET = re.compile(r"ipad|tablet|kindle|silk/|playbook|nexus (?:7|9|10)\b")
_MOBILE = re.compile(r"iphone|ipod|mobi|windows phone|blackberry|bb10|opera mini|iemobile|webos")
_DESKTOP_OS = frozenset({"Windows", "Mac OS X", "Linux", "Chrome OS"})

_BOT = re.compile(
    r"(?:bot|crawl|spider)[\w.\-]*/\d"  # a product token named like a robot: "Googlebot/2.1"
    r"|\+https?://"  # "(compatible; Name/1.0; +http://example.com/bot.html)"
    r"|slurp|adsbot|mediapartners-google|facebookexternalhit|facebookcatalog|headlesschrome|phantomjs"
    r"|lighthouse|bingpreview|google-inspectiontool"
    r"|^(?:curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|java|okhttp"
    r"|apache-httpclient|libwww-perl|scrapy|axios|node-fetch|postmanruntime|httpie)\b"
)


def _first(rules: tuple[tuple[re.Pattern[str], str | None], ...], ua: str) -> tuple[bool, str | None]:
    for pattern, value in rules:
        if pattern.search(ua):
            return True, value
    return False, None


def _platform(ua: str, os: str | None, browser: str | None) -> str | None:
    if os == "Android":
        return "mobile" if _MOBILE.search(ua) else "tablet"
    if _TABLET.search(ua):
        return "tablet"
    if _MOBILE.search(ua):
        return "mobile"
    if os in _DESKTOP_OS and browser is not None:
        return "desktop"
    return None


@functools.lru_cache(maxsize=8192)
def parse_user_agent(ua: str) -> UserAgent:
    """Platform, OS, browser and bot flag of a ``User-Agent`` header.

    An unrecognised browser in a browser-like (``Mozilla/...``) agent is ``"other"``;
    for anything else (``curl/8.0``, ``whatever``) it is ``None``.

    >>> parse_user_agent("Mozilla/5.0 (iPad; CPU OS 15_3 like Mac OS X) AppleWebKit/605.1.15 "
    ...                  "(KHTML, like Gecko) CriOS/99.0.4844.47 Mobile/15E148 Safari/604.1")
    UserAgent(platform='tablet', os='iOS', browser='chrome', bot=False)
    >>> parse_user_agent("curl/8.4.0")
    UserAgent(platform=None, os=None, browser=None, bot=True)
    """
    ua = ua.strip().lower()
    bot = bool(_BOT.search(ua))
    _, os = _first(_OS_RULES, ua)
    matched, browser = _first(_BROWSER_RULES, ua)
    if not matched and ua.startswith(("mozilla/", "opera/")) and not bot:
        browser = "other"
    return UserAgent(_platform(ua, os, browser), os, browser, bot)
