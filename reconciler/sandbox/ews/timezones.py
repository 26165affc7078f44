"""Windows time zone ids (what EWS carries in StartTimeZone) <-> IANA names (what zoneinfo knows).

Recurring series expand in the organiser's wall-clock time, so a 09:00 weekly meeting stays at 09:00
across a DST change. Only the zones the sandbox's cast and generators use, plus common neighbours,
are listed; an unknown id falls back to the fixed UTC offset the client sent with the start time.
"""

from __future__ import annotations

WINDOWS_TO_IANA: dict[str, str] = {
    "UTC": "UTC",
    "Greenwich Standard Time": "Atlantic/Reykjavik",
    "GMT Standard Time": "Europe/London",
    "W. Europe Standard Time": "Europe/Berlin",
    "Romance Standard Time": "Europe/Paris",
    "Central Europe Standard Time": "Europe/Budapest",
    "FLE Standard Time": "Europe/Kiev",
    "Pacific Standard Time": "America/Los_Angeles",
    "Mountain Standard Time": "America/Denver",
    "Central Standard Time": "America/Chicago",
    "Eastern Standard Time": "America/New_York",
    "New Zealand Standard Time": "Pacific/Auckland",
    "AUS Eastern Standard Time": "Australia/Sydney",
    "Tokyo Standard Time": "Asia/Tokyo",
    "India Standard Time": "Asia/Kolkata",
    "Singapore Standard Time": "Asia/Singapore",
    "China Standard Time": "Asia/Shanghai",
    "Arabian Standard Time": "Asia/Dubai",
    "South Africa Standard Time": "Africa/Johannesburg",
    "E. South America Standard Time": "America/Sao_Paulo",
    "US Mountain Standard Time": "America/Phoenix",
    "Alaskan Standard Time": "America/Anchorage",
    "Hawaiian Standard Time": "Pacific/Honolulu",
    "Line Islands Standard Time": "Pacific/Kiritimati",
    "Samoa Standard Time": "Pacific/Apia",
    "Chatham Islands Standard Time": "Pacific/Chatham",
    "Nepal Standard Time": "Asia/Kathmandu",
    "Newfoundland Standard Time": "America/St_Johns",
}

IANA_TO_WINDOWS: dict[str, str] = {iana: win for win, iana in WINDOWS_TO_IANA.items()}
IANA_TO_WINDOWS.update({
    "Etc/UTC": "UTC", "Europe/Kyiv": "FLE Standard Time", "Europe/Amsterdam": "W. Europe Standard Time",
    "Europe/Zurich": "W. Europe Standard Time", "Europe/Rome": "W. Europe Standard Time",
    "Europe/Madrid": "Romance Standard Time", "Europe/Dublin": "GMT Standard Time",
    "America/Toronto": "Eastern Standard Time", "Australia/Melbourne": "AUS Eastern Standard Time",
    "Asia/Hong_Kong": "China Standard Time",
})


def iana_name(windows_or_iana: str | None) -> str | None:
    """The IANA name for a Windows id (or an IANA name passed through); None when unknown."""
    if not windows_or_iana:
        return None
    if windows_or_iana in WINDOWS_TO_IANA:
        return WINDOWS_TO_IANA[windows_or_iana]
    return windows_or_iana if "/" in windows_or_iana or windows_or_iana == "UTC" else None


def windows_id(iana: str) -> str:
    """The Windows id for an IANA name; seeds name zones the IANA way."""
    try:
        return IANA_TO_WINDOWS[iana]
    except KeyError:
        raise ValueError(f"time zone {iana!r} has no Windows id in the sandbox's table") from None
