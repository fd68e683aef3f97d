"""The one way numbers and durations read."""
import math

from mmrest.formatting import format_duration, format_number, format_value


def test_format_value_reads_back_as_the_same_number():
    values = (5, 5.0, 0.05, 1e-05, 1e308, 0.1 + 0.2)
    assert [format_value(v) for v in values] == ["5", "5", "0.05", "1e-05", "1e+308", "0.30000000000000004"]
    assert all(float(format_value(v)) == v for v in values)


def test_format_number():
    assert format_number(0.123456) == "0.1235"
    assert format_number(0.123456, 2) == "0.12"
    assert format_number(None) == format_number(math.nan) == "n/a"


def test_format_duration():
    assert [format_duration(s) for s in (4.4, 65, 3600 * 2 + 60 * 5)] == ["4s", "1m05s", "2h05m"]
    assert format_duration(None) == format_duration(math.nan) == "n/a"
