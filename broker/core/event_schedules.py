"""EventBridge schedule expressions: ``rate(...)`` and AWS's six-field ``cron(...)``, all in UTC.

Public API::

    parse_schedule(expression) -> Schedule            # raises InvalidParameterValue
    Schedule.next_after(moment, *, anchor=None) -> datetime | None
    Schedule.ticks_between(start, end, *, anchor=None, limit=1000) -> list[datetime]
    RateSchedule(expression, value, unit).period       # a timedelta
    CronSchedule.matches(moment) -> bool               # is this whole minute a tick?

``next_after`` is strictly after ``moment``; ``ticks_between`` lists the ticks in the half-open
window ``(start, end]``, earliest first, at most ``limit`` of them (the scheduler's missed-tick
policy decides what to do with several). Datetimes come back timezone-aware in UTC; a naive
argument is read as UTC.

Rate
    ``rate(value unit)``: value a positive integer, unit ``minute|minutes|hour|hours|day|days``,
    the singular exactly when value is 1. Ticks fall at ``anchor + k * period`` for k >= 1, where
    the caller passes the rule's creation time as ``anchor``: the first tick is one period after
    the rule was made, as on AWS. Without an anchor the Unix epoch is used, so ``rate(1 hour)``
    ticks on the hour. The anchor keeps its seconds; rate ticks are not rounded to minutes.

Cron
    ``cron(minutes hours day-of-month month day-of-week year)``, fields separated by blanks:

    ============  =================  ===================
    field         values             operators
    ============  =================  ===================
    minutes       0-59               ``, - * /``
    hours         0-23               ``, - * /``
    day-of-month  1-31               ``, - * / ? L W``
    month         1-12 or JAN-DEC    ``, - * /``
    day-of-week   1-7 or SUN-SAT     ``, - * / ? L #``
    year          1970-2199          ``, - * /``
    ============  =================  ===================

    Exactly one of day-of-month and day-of-week is ``?``. ``a/n`` starts at ``a`` and steps by
    ``n`` to the field's end (``*/n`` starts at the field's minimum, ``a-b/n`` stops at ``b``).
    Day-of-month ``L`` is the month's last day, ``LW`` its last weekday (Monday to Friday), ``nW``
    the weekday nearest day ``n`` without leaving the month (a Saturday 1st moves to Monday the
    3rd, a Sunday last day to Friday); a ``W`` day past the month's end gives no tick that month.
    Day-of-week ``L`` alone is Saturday (the week's last day, 7), ``dL`` the month's last weekday
    ``d`` (``6L``: its last Friday), ``d#k`` the k-th (1-5) weekday ``d`` of the month.

Decisions on edges the AWS documentation leaves open (each one rejects rather than guesses):
    - ``L``, ``LW``, ``nW``, ``dL`` and ``d#k`` stand alone in their field (no lists, ranges or
      steps around them), as in Quartz, whose syntax AWS follows; AWS documents the one-``#``
      rule. ``L-n`` offsets are not accepted.
    - A range must run upwards (``FRI-MON`` and ``22-2`` are refused, not wrapped).
    - A step must be between 1 and the field's span.
    - Names (JAN, mon, ...) and ``L``/``W`` are case-insensitive; numbers may carry leading
      zeros. Extra blanks between fields and inside the parentheses are allowed.
    - The year range 1970-2199 is enforced as documented, and ``*`` means those years, so a
      cron schedule has no tick after 2199-12-31T23:59Z.

Invalid expressions raise ``broker.errors.InvalidParameterValue`` whose message starts with AWS's
own sentence, ``Parameter ScheduleExpression is not valid.``, followed by the reason; the events
adapter reports it as a ``ValidationException``.

Computing a cron tick skips by field (year, month, day, hour, minute), never minute by minute,
so a schedule that fires once a year or never again answers in microseconds.
"""

from __future__ import annotations

import calendar
import re
from abc import ABC, abstractmethod
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from broker.errors import InvalidParameterValue

__all__ = [
    "INVALID_SCHEDULE",
    "MAX_EXPRESSION_LENGTH",
    "CronSchedule",
    "DayOfMonth",
    "DayOfWeek",
    "RateSchedule",
    "Schedule",
    "parse_schedule",
]

INVALID_SCHEDULE = "Parameter ScheduleExpression is not valid."
MAX_EXPRESSION_LENGTH = 256
DEFAULT_TICK_LIMIT = 1000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_YEAR, LAST_YEAR = 1970, 2199

_MINUTE = timedelta(minutes=1)
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_RATE = re.compile(r"rate\(\s*(\d+)\s+([A-Za-z]+)\s*\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_WEEKDAYS = {
    name: number for number, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 1)
}


def _invalid(reason: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"{INVALID_SCHEDULE} {reason}")


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Schedule(ABC):
    """A parsed schedule expression; ``expression`` is the text it came from."""

    expression: str

    @abstractmethod
    def next_after(self, moment: datetime, *, anchor: datetime | None = None) -> datetime | None:
        """The first tick strictly after ``moment``; None when there is none (a cron past its
        last year). ``anchor`` is where a rate's ticks start (ignored by cron)."""

    def ticks_between(
        self,
        start: datetime,
        end: datetime,
        *,
        anchor: datetime | None = None,
        limit: int = DEFAULT_TICK_LIMIT,
    ) -> list[datetime]:
        """The ticks in ``(start, end]``, earliest first, at most ``limit`` of them."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        end = _utc(end)
        ticks: list[datetime] = []
        tick = self.next_after(start, anchor=anchor)
        while tick is not None and tick <= end and len(ticks) < limit:
            ticks.append(tick)
            tick = self.next_after(tick, anchor=anchor)
        return ticks


@dataclass(frozen=True)
class RateSchedule(Schedule):
    """``rate(value unit)``: a tick every ``period`` from the caller's anchor."""

    expression: str
    value: int
    unit: str  # "minute", "hour" or "day"

    @property
    def period(self) -> timedelta:
        return self.value * _UNITS[self.unit]

    def next_after(self, moment: datetime, *, anchor: datetime | None = None) -> datetime | None:
        origin = EPOCH if anchor is None else _utc(anchor)
        period = self.period
        # Whole periods elapsed since the anchor; the tick is the next one, and never the
        # anchor itself (k >= 1).
        k = max((_utc(moment) - origin) // period + 1, 1)
        try:
            return origin + k * period
        except OverflowError:
            return None

    def ticks_between(
        self,
        start: datetime,
        end: datetime,
        *,
        anchor: datetime | None = None,
        limit: int = DEFAULT_TICK_LIMIT,
    ) -> list[datetime]:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        first = self.next_after(start, anchor=anchor)
        if first is None:
            return []
        end = _utc(end)
        ticks: list[datetime] = []
        period = self.period
        tick = first
        while tick <= end and len(ticks) < limit:
            ticks.append(tick)
            try:
                tick += period
            except OverflowError:
                break
        return ticks


@dataclass(frozen=True)
class DayOfMonth:
    """The day-of-month field: a set of ``days``, or one of the special forms."""

    kind: str  # "any" ("?"), "days", "last" (L), "last_weekday" (LW), "nearest_weekday" (nW)
    days: frozenset[int] = frozenset()
    day: int = 0  # for nearest_weekday

    def in_month(self, year: int, month: int) -> list[int]:
        length = calendar.monthrange(year, month)[1]
        if self.kind == "any":
            return list(range(1, length + 1))
        if self.kind == "days":
            return sorted(day for day in self.days if day <= length)
        if self.kind == "last":
            return [length]
        if self.kind == "last_weekday":
            return [_nearest_weekday(year, month, length, length)]
        if self.day > length:
            return []
        return [_nearest_weekday(year, month, self.day, length)]


@dataclass(frozen=True)
class DayOfWeek:
    """The day-of-week field, with AWS numbering (1 = Sunday ... 7 = Saturday)."""

    kind: str  # "any" ("?"), "weekdays", "last_of_month" (dL), "nth" (d#k)
    weekdays: frozenset[int] = frozenset()
    weekday: int = 0  # for last_of_month and nth
    nth: int = 0

    def in_month(self, year: int, month: int) -> list[int]:
        length = calendar.monthrange(year, month)[1]
        first = _aws_weekday(year, month, 1)
        if self.kind == "any":
            return list(range(1, length + 1))
        if self.kind == "weekdays":
            return [d for d in range(1, length + 1) if (first + d - 2) % 7 + 1 in self.weekdays]
        first_match = 1 + (self.weekday - first) % 7
        if self.kind == "nth":
            day = first_match + 7 * (self.nth - 1)
            return [day] if day <= length else []
        return [first_match + 7 * ((length - first_match) // 7)]


def _aws_weekday(year: int, month: int, day: int) -> int:
    # Python counts Monday = 0 ... Sunday = 6; AWS counts Sunday = 1 ... Saturday = 7.
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    weekday = _aws_weekday(year, month, day)
    if weekday == 7:  # Saturday: Friday before, unless that leaves the month
        return day - 1 if day > 1 else day + 2
    if weekday == 1:  # Sunday: Monday after, unless that leaves the month
        return day + 1 if day < length else day - 2
    return day


@dataclass(frozen=True)
class CronSchedule(Schedule):
    """``cron(...)``: the allowed values of each field, sorted."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: DayOfMonth
    months: tuple[int, ...]
    day_of_week: DayOfWeek
    years: tuple[int, ...]

    def days_in(self, year: int, month: int) -> list[int]:
        """The days of this month the schedule fires on, ascending."""
        if self.day_of_month.kind == "any":
            return self.day_of_week.in_month(year, month)
        return self.day_of_month.in_month(year, month)

    def matches(self, moment: datetime) -> bool:
        """Whether ``moment`` (to the minute; seconds are ignored) is one of the ticks."""
        moment = _utc(moment)
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.month in self.months
            and moment.year in self.years
            and moment.day in self.days_in(moment.year, moment.month)
        )

    def next_after(self, moment: datetime, *, anchor: datetime | None = None) -> datetime | None:
        moment = _utc(moment)
        if moment.year > LAST_YEAR:
            return None
        t = moment.replace(second=0, microsecond=0) + _MINUTE
        for year in self.years[bisect_left(self.years, t.year) :]:
            this_year = year == t.year
            for month in self.months[bisect_left(self.months, t.month if this_year else 1) :]:
                this_month = this_year and month == t.month
                for day in self.days_in(year, month):
                    if this_month and day < t.day:
                        continue
                    today = this_month and day == t.day
                    for hour in self.hours[bisect_left(self.hours, t.hour if today else 0) :]:
                        this_hour = today and hour == t.hour
                        index = bisect_left(self.minutes, t.minute if this_hour else 0)
                        if index < len(self.minutes):
                            return datetime(year, month, day, hour, self.minutes[index], tzinfo=UTC)
        return None


def parse_schedule(expression: str) -> Schedule:
    """Parse a ``rate(...)`` or ``cron(...)`` expression, or raise InvalidParameterValue."""
    if not isinstance(expression, str) or not expression:
        raise _invalid("The expression is empty.")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise _invalid(f"The expression is longer than {MAX_EXPRESSION_LENGTH} characters.")
    if expression.startswith("rate("):
        return _parse_rate(expression)
    if expression.startswith("cron("):
        return _parse_cron(expression)
    raise _invalid("The expression must be rate(value unit) or cron(fields).")


def _parse_rate(expression: str) -> RateSchedule:
    match = _RATE.fullmatch(expression)
    if match is None:
        raise _invalid("A rate expression is rate(value unit), for example rate(5 minutes).")
    digits, word = match.groups()
    value = int(digits)
    if value < 1:
        raise _invalid("The rate value must be a positive integer.")
    if len(digits.lstrip("0")) > 9:
        raise _invalid("The rate value is too large.")
    unit = word[:-1] if word.endswith("s") else word
    if unit not in _UNITS:
        raise _invalid(f"The rate unit must be minute(s), hour(s) or day(s), not {word!r}.")
    plural = word.endswith("s")
    if value == 1 and plural:
        raise _invalid(f"A rate of 1 takes the singular unit: rate(1 {unit}).")
    if value != 1 and not plural:
        raise _invalid(f"A rate of {value} takes the plural unit: rate({value} {unit}s).")
    return RateSchedule(expression=expression, value=value, unit=unit)


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] | None = None


_MINUTES = _Field("minutes", 0, 59)
_HOURS = _Field("hours", 0, 23)
_DAYS = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS)
_DOW = _Field("day-of-week", 1, 7, _WEEKDAYS)
_YEAR = _Field("year", FIRST_YEAR, LAST_YEAR)


def _parse_cron(expression: str) -> CronSchedule:
    match = _CRON.fullmatch(expression)
    if match is None:
        raise _invalid(
            "A cron expression is cron(minutes hours day-of-month month day-of-week year)."
        )
    fields = match.group(1).split()
    if len(fields) != 6:
        raise _invalid(
            f"A cron expression has 6 fields (minutes hours day-of-month month day-of-week year), "
            f"not {len(fields)}."
        )
    minute_text, hour_text, dom_text, month_text, dow_text, year_text = (f.upper() for f in fields)
    dom_any, dow_any = dom_text == "?", dow_text == "?"
    if dom_any == dow_any:
        raise _invalid(
            "Exactly one of the day-of-month and day-of-week fields must be '?'"
            + (" (both are)." if dom_any else "; use '?' in the one you do not restrict.")
        )
    for text, field in (
        (minute_text, _MINUTES),
        (hour_text, _HOURS),
        (month_text, _MONTH),
        (year_text, _YEAR),
    ):
        if "?" in text:
            raise _invalid(
                f"'?' is only allowed in the day-of-month and day-of-week fields, "
                f"not in {field.name}."
            )
    return CronSchedule(
        expression=expression,
        minutes=_values(minute_text, _MINUTES),
        hours=_values(hour_text, _HOURS),
        day_of_month=_day_of_month(dom_text),
        months=_values(month_text, _MONTH),
        day_of_week=_day_of_week(dow_text),
        years=_values(year_text, _YEAR),
    )


_NAME = re.compile(r"[A-Z]{3}")


def _bare(text: str, field: _Field) -> str:
    """The field without its month or weekday names, to look for the operators L, W and #
    (JUL holds an L, WED a W)."""
    return _NAME.sub("", text) if field.names else text


def _values(text: str, field: _Field) -> tuple[int, ...]:
    """A plain field: a comma list of ``*``, ``v``, ``a-b``, each optionally ``/step``."""
    bare = _bare(text, field)
    for special in "LW#":
        if special in bare:
            raise _invalid(f"'{special}' is not allowed in the {field.name} field.")
    values: set[int] = set()
    for item in text.split(","):
        values.update(_item(item, field))
    return tuple(sorted(values))


def _item(item: str, field: _Field) -> range:
    if not item:
        raise _invalid(f"The {field.name} field has an empty list element.")
    base, slash, step_text = item.partition("/")
    if base == "*":
        low, high = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        low, high = _number(first, field), _number(last, field)
        if low > high:
            raise _invalid(f"The range {base} in the {field.name} field runs backwards.")
    else:
        low = _number(base, field)
        # "a/n" runs to the field's end; a bare "a" is just itself.
        high = field.high if slash else low
    if not slash:
        return range(low, high + 1)
    if not step_text.isdigit() or not step_text.isascii():
        raise _invalid(f"The increment in {item} ({field.name}) must be a positive integer.")
    step = int(step_text)
    span = field.high - field.low + 1
    if not 1 <= step <= span:
        raise _invalid(f"The increment in {item} ({field.name}) must be between 1 and {span}.")
    return range(low, high + 1, step)


def _number(text: str, field: _Field) -> int:
    if field.names and text in field.names:
        return field.names[text]
    if not text.isdigit() or not text.isascii():
        raise _invalid(f"{text!r} is not a valid value for the {field.name} field.")
    value = int(text)
    if not field.low <= value <= field.high:
        raise _invalid(
            f"{value} is outside the {field.name} field's range {field.low}-{field.high}."
        )
    return value


def _day_of_month(text: str) -> DayOfMonth:
    if text == "?":
        return DayOfMonth("any")
    if "#" in text:
        raise _invalid("'#' is only allowed in the day-of-week field.")
    if "L" in text or "W" in text:
        if text == "L":
            return DayOfMonth("last")
        if text == "LW":
            return DayOfMonth("last_weekday")
        if text.endswith("W") and text[:-1].isdigit():
            return DayOfMonth("nearest_weekday", day=_number(text[:-1], _DAYS))
        raise _invalid(
            f"{text!r} is not a valid day-of-month: 'L', 'LW' and 'nW' stand alone in the field."
        )
    return DayOfMonth("days", days=frozenset(_values(text, _DAYS)))


def _day_of_week(text: str) -> DayOfWeek:
    if text == "?":
        return DayOfWeek("any")
    bare = _bare(text, _DOW)
    if "W" in bare:
        raise _invalid("'W' is only allowed in the day-of-month field.")
    if "#" in text:
        weekday_text, _, nth_text = text.partition("#")
        if (
            not weekday_text
            or any(c in weekday_text for c in ",-/*L")
            or not nth_text.isdigit()
            or not nth_text.isascii()
        ):
            raise _invalid(
                f"{text!r} is not a valid day-of-week: '#' takes one weekday and one week number "
                "(for example 3#2), alone in the field."
            )
        if not 1 <= int(nth_text) <= 5:
            raise _invalid(f"In {text!r} the week number after '#' must be between 1 and 5.")
        return DayOfWeek("nth", weekday=_number(weekday_text, _DOW), nth=int(nth_text))
    if text == "L":
        return DayOfWeek("weekdays", weekdays=frozenset({7}))
    if "L" in bare:
        weekday_text = text[:-1]
        if text.endswith("L") and weekday_text and not any(c in weekday_text for c in ",-/*L"):
            return DayOfWeek("last_of_month", weekday=_number(weekday_text, _DOW))
        raise _invalid(
            f"{text!r} is not a valid day-of-week: 'L' and 'dL' stand alone in the field."
        )
    return DayOfWeek("weekdays", weekdays=frozenset(_values(text, _DOW)))
