"""Contract tests: the EWS emulator answers FindItem within the throttling policy's EWSFindCountLimit
the way Exchange 2010 SP1 and later do (exchangelib 5.6 and raw SOAP): a paged request gets a partial
answer marked IncludesLastItemInRange="false", a CalendarView the server cannot page fails with
ErrorExceededFindCountLimit, and a CalendarView may span at most two years."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from exchangelib import UTC, CalendarItem, EWSDateTime
from exchangelib import errors as ews_errors
from sandbox.ews_client import NAMESPACES, basic_account, exchange, soap, stamp_registered, trusting_sandbox

from reconciler.sandbox.ews.operations import DEFAULT_FIND_COUNT_LIMIT
from reconciler.sandbox.server import Sandbox

START = EWSDateTime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def alice(sandbox: Sandbox) -> Iterator:
    """Alice's calendar with ten one-hour items on the first ten days of 2030."""
    with trusting_sandbox(sandbox), stamp_registered():
        account = basic_account(sandbox, "alice@acme.example")
        account.bulk_create(folder=account.calendar, items=[
            CalendarItem(account=account, folder=account.calendar, subject=f"Day {day}",
                         start=START + dt.timedelta(days=day), end=START + dt.timedelta(days=day, hours=1))
            for day in range(10)])
        yield account


def calendar_view(sandbox: Sandbox, start: str, end: str, max_entries: int | None) -> tuple[str, str, int | None]:
    """(ResponseClass, ResponseCode, items answered) of one raw CalendarView FindItem."""
    entries = "" if max_entries is None else f' MaxEntriesReturned="{max_entries}"'
    _, envelope = soap(sandbox, '<m:FindItem Traversal="Shallow"><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>'
                                f'</m:ItemShape><m:CalendarView{entries} StartDate="{start}" EndDate="{end}"/>'
                                '<m:ParentFolderIds><t:DistinguishedFolderId Id="calendar"/></m:ParentFolderIds>'
                                '</m:FindItem>')
    message = envelope.find(".//m:FindItemResponseMessage", NAMESPACES)
    root = message.find("m:RootFolder", NAMESPACES)
    answered = None if root is None else len(root.findall("t:Items/t:CalendarItem", NAMESPACES))
    last = "" if root is None else root.get("IncludesLastItemInRange")
    return message.get("ResponseClass") + "/" + message.findtext("m:ResponseCode", namespaces=NAMESPACES), last, answered


def test_the_find_count_limit_is_exchanges_default_unless_a_test_sets_it(sandbox: Sandbox) -> None:
    assert DEFAULT_FIND_COUNT_LIMIT == 1000
    assert exchange(sandbox).find_count_limit == DEFAULT_FIND_COUNT_LIMIT


def test_a_calendar_view_with_max_entries_is_cut_at_the_smaller_of_it_and_the_limit(alice, sandbox: Sandbox) -> None:
    span = ("2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z")
    assert calendar_view(sandbox, *span, max_entries=20) == ("Success/NoError", "true", 10)
    assert calendar_view(sandbox, *span, max_entries=3) == ("Success/NoError", "false", 3)
    exchange(sandbox).find_count_limit = 4
    assert calendar_view(sandbox, *span, max_entries=20) == ("Success/NoError", "false", 4)
    assert calendar_view(sandbox, "2030-01-01T00:00:00Z", "2030-01-04T00:00:00Z", max_entries=20) == (
        "Success/NoError", "true", 3)


def test_a_calendar_view_without_max_entries_over_the_limit_fails(alice, sandbox: Sandbox) -> None:
    exchange(sandbox).find_count_limit = 4
    assert calendar_view(sandbox, "2030-01-01T00:00:00Z", "2030-02-01T00:00:00Z", None) == (
        "Error/ErrorExceededFindCountLimit", "", None)
    with pytest.raises(ews_errors.ErrorExceededFindCountLimit):
        list(alice.calendar.view(start=START, end=START + dt.timedelta(days=31)))
    assert len(list(alice.calendar.view(start=START, end=START + dt.timedelta(days=4)))) == 4


def test_a_calendar_view_may_span_two_years_at_most(alice, sandbox: Sandbox) -> None:
    assert calendar_view(sandbox, "2030-01-01T00:00:00Z", "2032-01-01T00:00:00Z", 5)[0] == "Success/NoError"
    assert calendar_view(sandbox, "2030-01-01T00:00:00Z", "2032-01-01T00:00:01Z", 5)[0] == (
        "Error/ErrorCalendarViewRangeTooBig")
    with pytest.raises(ews_errors.ErrorCalendarViewRangeTooBig):
        list(alice.calendar.view(start=START, end=START + dt.timedelta(days=3 * 365)))


def test_indexed_paging_answers_pages_no_larger_than_the_limit(alice, sandbox: Sandbox) -> None:
    exchange(sandbox).find_count_limit = 4
    sandbox.counters.reset()
    subjects = {item.subject for item in alice.calendar.all().only("subject") if item.subject.startswith("Day ")}
    assert subjects == {f"Day {day}" for day in range(10)}
    assert sandbox.counters.counts()["exchange.FindItem"] > 1
