"""What a client is, for the member's own eyes and for site statistics: browser,
operating system (ua-parser) and country (geoip2fast's embedded database, offline)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from geoip2fast import GeoIP2Fast
from ua_parser import parse


@dataclass(frozen=True)
class Agent:
    """A parsed User-Agent header."""

    browser: str | None
    browser_version: str | None
    operating_system: str | None


@cache
def _parse(user_agent: str) -> Agent:
    result = parse(user_agent)
    browser = result.user_agent
    system = result.os
    return Agent(
        browser=browser.family if browser and browser.family != "Other" else None,
        browser_version=browser.major if browser else None,
        operating_system=system.family if system and system.family != "Other" else None,
    )


def agent(user_agent: str) -> Agent:
    """Browser and operating system of a User-Agent (None where unknown)."""
    return _parse(user_agent[:512]) if user_agent else Agent(None, None, None)


@cache
def _geo() -> GeoIP2Fast:
    return GeoIP2Fast()


def country(address: str) -> str | None:
    """ISO country code of a public address, from the embedded database; None if unknown."""
    try:
        code = _geo().lookup(address).country_code
    except Exception:  # a malformed address has no country; never fail a request for it
        return None
    return code if code and len(code) == 2 and code.isalpha() else None
