"""EventBridge schedule expressions: parsing, every cron operator, rate anchoring, error paths."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.core.event_schedules import (
    INVALID_SCHEDULE,
    CronSchedule,
    RateSchedule,
    parse_schedule,
)
from broker.errors import InvalidParameterValue


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def ticks(expression: str, start: datetime, count: int) -> list[datetime]:
    return parse_schedule(expression).ticks_between(start, utc(2199, 12, 31, 23, 59), limit=count)


# --- rate ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(7 days)", timedelta(days=7)),
        ("rate( 3  minutes )", timedelta(minutes=3)),
        ("rate(01 minute)", timedelta(minutes=1)),
    ],
)
def test_rate_periods(expression: str, period: timedelta) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, RateSchedule)
    assert schedule.period == period
    assert schedule.expression == expression


def test_rate_ticks_are_anchored_one_period_after_the_anchor() -> None:
    schedule = parse_schedule("rate(5 minutes)")
    anchor = utc(2026, 11, 26, 14, 3, 27)
    assert schedule.next_after(anchor, anchor=anchor) == utc(2026, 11, 26, 14, 8, 27)
    # before the anchor, the first tick is still anchor + period
    assert schedule.next_after(utc(2020, 1, 1), anchor=anchor) == utc(2026, 11, 26, 14, 8, 27)
    # strictly after: a tick instant gives the following one
    assert schedule.next_after(utc(2026, 11, 26, 14, 8, 27), anchor=anchor) == utc(
        2026, 11, 26, 14, 13, 27
    )
    assert schedule.next_after(utc(2026, 11, 26, 14, 8, 26), anchor=anchor) == utc(
        2026, 11, 26, 14, 8, 27
    )


def test_rate_without_anchor_counts_from_the_epoch() -> None:
    schedule = parse_schedule("rate(1 hour)")
    assert schedule.next_after(utc(2026, 11, 26, 14, 30)) == utc(2026, 11, 26, 15, 0)


def test_rate_window_is_half_open_and_capped() -> None:
    schedule = parse_schedule("rate(1 minute)")
    anchor = utc(2026, 1, 1)
    window = schedule.ticks_between(utc(2026, 1, 1, 0, 1), utc(2026, 1, 1, 0, 4), anchor=anchor)
    assert window == [utc(2026, 1, 1, 0, 2), utc(2026, 1, 1, 0, 3), utc(2026, 1, 1, 0, 4)]
    capped = schedule.ticks_between(utc(2026, 1, 1), utc(2027, 1, 1), anchor=anchor, limit=2)
    assert capped == [utc(2026, 1, 1, 0, 1), utc(2026, 1, 1, 0, 2)]
    assert schedule.ticks_between(utc(2026, 1, 2), utc(2026, 1, 1), anchor=anchor) == []


def test_rate_past_the_calendar_has_no_tick() -> None:
    schedule = parse_schedule("rate(999999999 days)")
    assert schedule.next_after(utc(2026, 1, 1)) is None
    assert schedule.ticks_between(utc(2026, 1, 1), utc(2199, 1, 1)) == []


def test_timezones_are_converted_and_naive_times_read_as_utc() -> None:
    schedule = parse_schedule("cron(0 12 * * ? *)")
    plus_two = timezone(timedelta(hours=2))
    assert schedule.next_after(datetime(2026, 5, 1, 13, 30, tzinfo=plus_two)) == utc(2026, 5, 1, 12)
    assert schedule.next_after(datetime(2026, 5, 1, 11, 59, 59)) == utc(2026, 5, 1, 12)
    rate = parse_schedule("rate(1 hour)")
    assert rate.next_after(datetime(2026, 5, 1, 11, 30), anchor=datetime(2026, 5, 1, 11, 15)) == (
        utc(2026, 5, 1, 12, 15)
    )


def test_limit_must_be_positive() -> None:
    for expression in ("rate(1 minute)", "cron(* * * * ? *)"):
        with pytest.raises(ValueError, match="limit"):
            parse_schedule(expression).ticks_between(utc(2026, 1, 1), utc(2026, 1, 2), limit=0)


# --- cron: every operator -----------------------------------------------------------------------

START = utc(2026, 11, 26, 14, 45, 30)  # a Thursday


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # plain values, AWS's documented examples
        ("cron(0 10 * * ? *)", [utc(2026, 11, 27, 10), utc(2026, 11, 28, 10)]),
        ("cron(15 12 * * ? *)", [utc(2026, 11, 27, 12, 15), utc(2026, 11, 28, 12, 15)]),
        (
            "cron(0 18 ? * MON-FRI *)",
            [utc(2026, 11, 26, 18), utc(2026, 11, 27, 18), utc(2026, 11, 30, 18)],
        ),
        ("cron(0 8 1 * ? *)", [utc(2026, 12, 1, 8), utc(2027, 1, 1, 8)]),
        # * and lists
        ("cron(* * * * ? *)", [utc(2026, 11, 26, 14, 46), utc(2026, 11, 26, 14, 47)]),
        ("cron(5,50 * * * ? *)", [utc(2026, 11, 26, 14, 50), utc(2026, 11, 26, 15, 5)]),
        # ranges
        (
            "cron(58-59 23 * * ? *)",
            [utc(2026, 11, 26, 23, 58), utc(2026, 11, 26, 23, 59), utc(2026, 11, 27, 23, 58)],
        ),
        # increments: a/n, */n, a-b/n
        ("cron(0/15 * * * ? *)", [utc(2026, 11, 26, 15), utc(2026, 11, 26, 15, 15)]),
        ("cron(1/10 * * * ? *)", [utc(2026, 11, 26, 14, 51), utc(2026, 11, 26, 15, 1)]),
        ("cron(*/20 * * * ? *)", [utc(2026, 11, 26, 15), utc(2026, 11, 26, 15, 20)]),
        (
            "cron(0 10-14/2 * * ? *)",
            [
                utc(2026, 11, 27, 10),
                utc(2026, 11, 27, 12),
                utc(2026, 11, 27, 14),
                utc(2026, 11, 28, 10),
            ],
        ),
        (
            "cron(0 0 1/10 * ? *)",
            [utc(2026, 12, 1), utc(2026, 12, 11), utc(2026, 12, 21), utc(2026, 12, 31)],
        ),
        ("cron(0 0 1 */6 ? *)", [utc(2027, 1, 1), utc(2027, 7, 1)]),
        ("cron(0 0 1 1 ? 2030/10)", [utc(2030, 1, 1), utc(2040, 1, 1)]),
        # month and weekday names, lists and ranges of names, any case
        ("cron(0 0 1 JAN,jul ? *)", [utc(2027, 1, 1), utc(2027, 7, 1)]),
        ("cron(0 0 1 JUN-AUG ? *)", [utc(2027, 6, 1), utc(2027, 7, 1), utc(2027, 8, 1)]),
        ("cron(0 0 ? * SUN,sat *)", [utc(2026, 11, 28), utc(2026, 11, 29), utc(2026, 12, 5)]),
        ("cron(0 0 ? * 1 *)", [utc(2026, 11, 29), utc(2026, 12, 6)]),
        ("cron(0 0 ? * 7 *)", [utc(2026, 11, 28), utc(2026, 12, 5)]),
        ("cron(0 0 ? * WED *)", [utc(2026, 12, 2), utc(2026, 12, 9)]),
        ("cron(0 0 ? * 2/3 *)", [utc(2026, 11, 30), utc(2026, 12, 3), utc(2026, 12, 7)]),
        # L: last day of month; in day-of-week alone, Saturday; dL the month's last weekday d
        (
            "cron(0 0 L * ? *)",
            [utc(2026, 11, 30), utc(2026, 12, 31), utc(2027, 1, 31), utc(2027, 2, 28)],
        ),
        ("cron(0 0 L 2 ? 2028)", [utc(2028, 2, 29)]),
        ("cron(0 0 ? * L *)", [utc(2026, 11, 28), utc(2026, 12, 5)]),
        (
            "cron(0 10 ? * 6L *)",
            [utc(2026, 11, 27, 10), utc(2026, 12, 25, 10), utc(2027, 1, 29, 10)],
        ),
        ("cron(0 10 ? * FRIL *)", [utc(2026, 11, 27, 10), utc(2026, 12, 25, 10)]),
        ("cron(0 10 ? * wedL *)", [utc(2026, 12, 30, 10), utc(2027, 1, 27, 10)]),
        ("cron(0 0 ? * WED#1 *)", [utc(2026, 12, 2), utc(2027, 1, 6)]),
        ("cron(0 10 ? * 1L 2027)", [utc(2027, 1, 31, 10), utc(2027, 2, 28, 10)]),
        # W: nearest weekday, not crossing the month
        (
            "cron(0 0 15W * ? *)",
            [
                utc(2026, 12, 15),
                utc(2027, 1, 15),
                utc(2027, 2, 15),
                utc(2027, 3, 15),
                utc(2027, 4, 15),
                utc(2027, 5, 14),
            ],
        ),
        (
            "cron(0 0 1W * ? 2027)",
            [utc(2027, 1, 1), utc(2027, 2, 1), utc(2027, 3, 1), utc(2027, 4, 1), utc(2027, 5, 3)],
        ),
        (
            "cron(0 0 31W * ? 2027)",
            [utc(2027, 1, 29), utc(2027, 3, 31), utc(2027, 5, 31), utc(2027, 7, 30)],
        ),
        (
            "cron(0 0 LW * ? *)",
            [utc(2026, 11, 30), utc(2026, 12, 31), utc(2027, 1, 29), utc(2027, 2, 26)],
        ),
        # #: the k-th weekday of the month
        ("cron(15 10 ? * 6#3 *)", [utc(2026, 12, 18, 10, 15), utc(2027, 1, 15, 10, 15)]),
        ("cron(0 0 ? * MON#1 *)", [utc(2026, 12, 7), utc(2027, 1, 4)]),
        ("cron(0 0 ? * 5#5 *)", [utc(2026, 12, 31), utc(2027, 4, 29), utc(2027, 7, 29)]),
        ("cron(0 0 ? * 5#4 *)", [utc(2026, 12, 24), utc(2027, 1, 28)]),
        # years
        ("cron(0 0 1 1 ? 2027-2028)", [utc(2027, 1, 1), utc(2028, 1, 1)]),
        ("cron(0 10 ? * 6L 2002-2005)", []),
        ("cron(59 23 31 12 ? 2199)", [utc(2199, 12, 31, 23, 59)]),
        # a day that never comes
        ("cron(0 0 30 2 ? *)", []),
        # blanks are flexible
        ("cron( 0   10  *  * ? * )", [utc(2026, 11, 27, 10)]),
    ],
)
def test_cron_ticks(expression: str, expected: list[datetime]) -> None:
    assert ticks(expression, START, len(expected) or 3) == expected


def test_cron_next_after_is_strict_and_ignores_seconds() -> None:
    schedule = parse_schedule("cron(* * * * ? *)")
    assert schedule.next_after(utc(2026, 1, 1, 0, 0)) == utc(2026, 1, 1, 0, 1)
    assert schedule.next_after(datetime(2026, 1, 1, 0, 0, 59, 999999, tzinfo=UTC)) == utc(
        2026, 1, 1, 0, 1
    )


def test_cron_rolls_over_every_field() -> None:
    schedule = parse_schedule("cron(* * * * ? *)")
    assert schedule.next_after(utc(2026, 12, 31, 23, 59)) == utc(2027, 1, 1, 0, 0)
    assert schedule.next_after(utc(2028, 2, 28, 23, 59)) == utc(2028, 2, 29, 0, 0)


def test_cron_after_its_last_year_has_no_tick() -> None:
    assert parse_schedule("cron(0 0 1 1 ? 2027)").next_after(utc(2027, 1, 1)) is None
    assert parse_schedule("cron(* * * * ? *)").next_after(utc(2199, 12, 31, 23, 59)) is None
    assert parse_schedule("cron(* * * * ? *)").next_after(utc(2300, 1, 1)) is None


def test_cron_before_its_first_year_starts_there() -> None:
    schedule = parse_schedule("cron(0 0 1 1 ? 2100)")
    assert schedule.next_after(utc(1999, 6, 1)) == utc(2100, 1, 1)


def test_cron_window_is_half_open() -> None:
    schedule = parse_schedule("cron(0 * * * ? *)")
    assert schedule.ticks_between(utc(2026, 1, 1, 1), utc(2026, 1, 1, 3)) == [
        utc(2026, 1, 1, 2),
        utc(2026, 1, 1, 3),
    ]


def test_the_default_cap_is_a_thousand_ticks() -> None:
    window = parse_schedule("cron(* * * * ? *)").ticks_between(utc(2026, 1, 1), utc(2027, 1, 1))
    assert len(window) == 1000
    assert window[-1] == utc(2026, 1, 1) + timedelta(minutes=1000)


def test_cron_fields_are_exposed_sorted() -> None:
    schedule = parse_schedule("cron(50,5,20-22 0/12 ? NOV,JAN * 2030,1999)")
    assert isinstance(schedule, CronSchedule)
    assert schedule.minutes == (5, 20, 21, 22, 50)
    assert schedule.hours == (0, 12)
    assert schedule.months == (1, 11)
    assert schedule.years == (1999, 2030)


def test_cron_matches() -> None:
    schedule = parse_schedule("cron(30 9 ? * 2#1 *)")
    assert isinstance(schedule, CronSchedule)
    assert schedule.matches(utc(2026, 12, 7, 9, 30, 42))
    assert not schedule.matches(utc(2026, 12, 14, 9, 30))
    assert not schedule.matches(utc(2026, 12, 7, 9, 31))


def test_a_never_firing_cron_answers_without_walking_minutes() -> None:
    # February 30th: the search visits 12 months x 173 years, not 90 million minutes.
    schedule = parse_schedule("cron(* * 30 FEB ? *)")
    assert schedule.next_after(utc(2026, 1, 1)) is None


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("", "empty"),
        ("rate(5 minutes)" + " " * 300, "longer than 256"),
        ("every 5 minutes", "rate(value unit) or cron(fields)"),
        ("Rate(5 minutes)", "rate(value unit) or cron(fields)"),
        ("rate(5)", "rate(value unit)"),
        ("rate(five minutes)", "rate(value unit)"),
        ("rate(-5 minutes)", "rate(value unit)"),
        ("rate(1.5 hours)", "rate(value unit)"),
        ("rate(5 minutes", "rate(value unit)"),
        ("rate(0 minutes)", "positive"),
        ("rate(1234567890 minutes)", "too large"),
        ("rate(5 seconds)", "minute(s), hour(s) or day(s)"),
        ("rate(2 weeks)", "minute(s), hour(s) or day(s)"),
        ("rate(1 minutes)", "singular"),
        ("rate(1 hours)", "singular"),
        ("rate(1 days)", "singular"),
        ("rate(5 minute)", "plural"),
        ("rate(2 hour)", "plural"),
        ("rate(3 day)", "plural"),
        ("rate(5 Minutes)", "minute(s), hour(s) or day(s)"),
        ("cron(0 12 * * ?)", "6 fields"),
        ("cron(0 12 * * ? * *)", "6 fields"),
        ("cron()", "6 fields"),
        ("cron(0 12 * * ? *", "cron(minutes hours"),
        ("cron(0 12 * * * *)", "Exactly one"),
        ("cron(0 12 1 * MON *)", "Exactly one"),
        ("cron(0 12 ? * ? *)", "both are"),
        ("cron(? 12 * * ? *)", "'?' is only allowed"),
        ("cron(0 ? * * ? *)", "'?' is only allowed"),
        ("cron(0 12 * ? ? *)", "'?' is only allowed"),
        ("cron(0 12 * * ? ?)", "'?' is only allowed"),
        ("cron(60 12 * * ? *)", "outside the minutes field's range 0-59"),
        ("cron(0 24 * * ? *)", "outside the hours field's range 0-23"),
        ("cron(0 12 0 * ? *)", "outside the day-of-month field's range 1-31"),
        ("cron(0 12 32 * ? *)", "outside the day-of-month field's range 1-31"),
        ("cron(0 12 1 13 ? *)", "outside the month field's range 1-12"),
        ("cron(0 12 1 0 ? *)", "outside the month field's range 1-12"),
        ("cron(0 12 ? * 8 *)", "outside the day-of-week field's range 1-7"),
        ("cron(0 12 ? * 0 *)", "outside the day-of-week field's range 1-7"),
        ("cron(0 12 * * ? 1969)", "outside the year field's range 1970-2199"),
        ("cron(0 12 * * ? 2200)", "outside the year field's range 1970-2199"),
        ("cron(x 12 * * ? *)", "not a valid value for the minutes"),
        ("cron(0 12 * FOO ? *)", "'FOO' is not a valid value for the month"),
        ("cron(0 12 ? * MONDAY *)", "'MONDAY' is not a valid value for the day-of-week"),
        ("cron(0 12 * MON ? *)", "'MON' is not a valid value for the month"),
        ("cron(0 12 ? * JAN *)", "'JAN' is not a valid value for the day-of-week"),
        ("cron(0 12 1, * ? *)", "empty list element"),
        ("cron(0,,5 12 * * ? *)", "empty list element"),
        ("cron(0 12 ,1 * ? *)", "empty list element"),
        ("cron(30-10 12 * * ? *)", "runs backwards"),
        ("cron(0 12 ? * FRI-MON *)", "The range FRI-MON in the day-of-week field runs backwards"),
        ("cron(0 12 ? * FRI#2,MON *)", "one weekday and one week number"),
        ("cron(0 12 ? * FRIL,MON *)", "stand alone"),
        ("cron(0 12 ? * LL *)", "stand alone"),
        ("cron(0 12 ? * SUNDAYL *)", "'SUNDAY' is not a valid value"),
        ("cron(0 12 ? * XYZ#2 *)", "'XYZ' is not a valid value"),
        ("cron(0 12 * JULW ? *)", "'W' is not allowed in the month"),
        ("cron(0 12 * JULY ? *)", "'JULY' is not a valid value for the month"),
        ("cron(0 22-2 * * ? *)", "runs backwards"),
        ("cron(0/0 12 * * ? *)", "between 1 and 60"),
        ("cron(0/61 12 * * ? *)", "between 1 and 60"),
        ("cron(*/x 12 * * ? *)", "positive integer"),
        ("cron(0/ 12 * * ? *)", "positive integer"),
        ("cron(1-2-3 12 * * ? *)", "not a valid value"),
        ("cron(-5 12 * * ? *)", "not a valid value"),
        ("cron(L 12 * * ? *)", "'L' is not allowed in the minutes"),
        ("cron(0 L * * ? *)", "'L' is not allowed in the hours"),
        ("cron(0 12 * L ? *)", "'L' is not allowed in the month"),
        ("cron(0 12 * * ? L)", "'L' is not allowed in the year"),
        ("cron(5W 12 * * ? *)", "'W' is not allowed in the minutes"),
        ("cron(0 12 ? * 2W *)", "'W' is only allowed in the day-of-month"),
        ("cron(1#2 12 * * ? *)", "'#' is not allowed in the minutes"),
        ("cron(0 12 1#2 * ? *)", "'#' is only allowed in the day-of-week"),
        ("cron(0 12 * 1#2 ? *)", "'#' is not allowed in the month"),
        ("cron(0 12 * * ? 1#2)", "'#' is not allowed in the year"),
        ("cron(0 12 L-2 * ? *)", "stand alone"),
        ("cron(0 12 1,L * ? *)", "stand alone"),
        ("cron(0 12 1-5W * ? *)", "stand alone"),
        ("cron(0 12 WL * ? *)", "stand alone"),
        ("cron(0 12 0W * ? *)", "outside the day-of-month field's range"),
        ("cron(0 12 32W * ? *)", "outside the day-of-month field's range"),
        ("cron(0 12 ? * 1,6L *)", "stand alone"),
        ("cron(0 12 ? * L6 *)", "stand alone"),
        ("cron(0 12 ? * 8L *)", "outside the day-of-week field's range"),
        ("cron(0 12 ? * 3#1,6#3 *)", "one weekday and one week number"),
        ("cron(0 12 ? * 2-3#1 *)", "one weekday and one week number"),
        ("cron(0 12 ? * #1 *)", "one weekday and one week number"),
        ("cron(0 12 ? * 3# *)", "one weekday and one week number"),
        ("cron(0 12 ? * 3#0 *)", "between 1 and 5"),
        ("cron(0 12 ? * 3#6 *)", "between 1 and 5"),
        ("cron(0 12 ? * 9#1 *)", "outside the day-of-week field's range"),
        ("cron(\uff10 12 * * ? *)", "not a valid value"),
    ],
)
def test_invalid_expressions(expression: str, reason: str) -> None:
    with pytest.raises(InvalidParameterValue) as caught:
        parse_schedule(expression)
    assert caught.value.message.startswith(INVALID_SCHEDULE + " ")
    assert reason in caught.value.message


def test_a_non_string_is_refused() -> None:
    with pytest.raises(InvalidParameterValue):
        parse_schedule(None)  # type: ignore[arg-type]


# --- properties ---------------------------------------------------------------------------------


def _matches(expression_fields: tuple[str, ...], moment: datetime) -> bool:
    """A brute-force matcher written independently of the module, for plain numeric fields."""
    minute, hour, dom, month, dow, year = expression_fields

    def allowed(text: str, value: int, low: int, high: int) -> bool:
        for item in text.split(","):
            base, _, step = item.partition("/")
            if base == "*":
                first, last = low, high
            elif "-" in base:
                first, last = (int(x) for x in base.split("-"))
            else:
                first = int(base)
                last = high if step else first
            if first <= value <= last and (value - first) % int(step or 1) == 0:
                return True
        return False

    aws_weekday = (moment.weekday() + 1) % 7 + 1
    day_ok = allowed(dom, moment.day, 1, 31) if dow == "?" else allowed(dow, aws_weekday, 1, 7)
    return (
        allowed(minute, moment.minute, 0, 59)
        and allowed(hour, moment.hour, 0, 23)
        and day_ok
        and allowed(month, moment.month, 1, 12)
        and allowed(year, moment.year, 1970, 2199)
    )


def _field(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    single = value.map(str)
    span = st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}")
    step = st.tuples(value, st.integers(1, high - low + 1)).map(lambda p: f"{p[0]}/{p[1]}")
    star_step = st.integers(1, high - low + 1).map(lambda n: f"*/{n}")
    item = st.one_of(single, span, step, star_step)
    return st.one_of(st.just("*"), st.lists(item, min_size=1, max_size=3).map(",".join))


@st.composite
def _cron_fields(draw: st.DrawFn) -> tuple[str, ...]:
    days_by_month = draw(st.booleans())
    return (
        draw(_field(0, 59)),
        draw(_field(0, 23)),
        draw(_field(1, 31)) if days_by_month else "?",
        draw(_field(1, 12)),
        "?" if days_by_month else draw(_field(1, 7)),
        draw(st.one_of(st.just("*"), _field(2020, 2040))),
    )


_moments = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@settings(max_examples=150, deadline=None)
@given(fields=_cron_fields(), moment=_moments)
def test_cron_ticks_increase_and_each_one_matches(
    fields: tuple[str, ...], moment: datetime
) -> None:
    schedule = parse_schedule(f"cron({' '.join(fields)})")
    assert isinstance(schedule, CronSchedule)
    previous = moment
    for tick in schedule.ticks_between(moment, utc(2199, 12, 31, 23, 59), limit=5):
        assert tick > previous
        assert tick.second == 0 and tick.microsecond == 0 and tick.tzinfo is UTC
        assert _matches(fields, tick)
        assert schedule.matches(tick)
        previous = tick


@settings(max_examples=150, deadline=None)
@given(fields=_cron_fields(), moment=_moments)
def test_cron_skips_no_matching_minute(fields: tuple[str, ...], moment: datetime) -> None:
    """Between ``moment`` and the next tick (looked at within two days) no minute matches."""
    schedule = parse_schedule(f"cron({' '.join(fields)})")
    tick = schedule.next_after(moment)
    horizon = moment + timedelta(days=2)
    probe = moment.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while probe <= horizon and (tick is None or probe < tick):
        assert not _matches(fields, probe), probe
        probe += timedelta(minutes=1)
    if tick is not None and tick <= horizon:
        assert probe == tick


@settings(max_examples=200, deadline=None)
@given(
    value=st.integers(1, 500),
    unit=st.sampled_from(["minute", "hour", "day"]),
    anchor=_moments,
    offset=st.timedeltas(min_value=timedelta(days=-30), max_value=timedelta(days=3000)),
)
def test_rate_ticks_are_anchor_plus_whole_periods(
    value: int, unit: str, anchor: datetime, offset: timedelta
) -> None:
    word = unit if value == 1 else unit + "s"
    schedule = parse_schedule(f"rate({value} {word})")
    assert isinstance(schedule, RateSchedule)
    moment = anchor + offset
    window = schedule.ticks_between(moment, moment + 3 * schedule.period, anchor=anchor, limit=10)
    # three ticks in any three periods once the anchor has passed, fewer before it
    k_first = max((moment - anchor) // schedule.period + 1, 1)
    expected = [anchor + k * schedule.period for k in range(k_first, k_first + 3)]
    assert window == [tick for tick in expected if tick <= moment + 3 * schedule.period]
    if moment >= anchor:
        assert len(window) == 3
    for tick in window:
        k, remainder = divmod(tick - anchor, schedule.period)
        assert remainder == timedelta(0) and k >= 1
        assert tick > moment
    assert [b - a for a, b in itertools.pairwise(window)] == [schedule.period] * (len(window) - 1)


@settings(max_examples=100, deadline=None)
@given(
    year=st.integers(1970, 2199),
    month=st.integers(1, 12),
    weekday=st.integers(1, 7),
    nth=st.integers(1, 5),
)
def test_special_days_agree_with_the_calendar(
    year: int, month: int, weekday: int, nth: int
) -> None:
    length = calendar.monthrange(year, month)[1]
    start = utc(year, month, 1) - timedelta(minutes=1)
    aws = [(calendar.weekday(year, month, d) + 1) % 7 + 1 for d in range(1, length + 1)]
    same = [d for d in range(1, length + 1) if aws[d - 1] == weekday]
    expected_nth = same[nth - 1] if nth <= len(same) else None
    tick = parse_schedule(f"cron(0 0 ? {month} {weekday}#{nth} {year})").next_after(start)
    assert (tick.day if tick else None) == expected_nth
    tick = parse_schedule(f"cron(0 0 ? {month} {weekday}L {year})").next_after(start)
    assert tick is not None and tick.day == same[-1]
    weekdays = [d for d in range(1, length + 1) if aws[d - 1] not in (1, 7)]
    tick = parse_schedule(f"cron(0 0 LW {month} ? {year})").next_after(start)
    assert tick is not None and tick.day == weekdays[-1]
    tick = parse_schedule(f"cron(0 0 L {month} ? {year})").next_after(start)
    assert tick is not None and tick.day == length
