"""The platform-neutral trimming helpers."""

from __future__ import annotations

from bot.chat.limits import take, trim, trim_lines


def test_trim_keeps_short_text_and_ends_cut_text_with_an_ellipsis() -> None:
    assert trim("abc", 3) == "abc"
    assert trim("abcdef", 4) == "abc…"
    assert len(trim("x" * 5000, 3000)) == 3000


def test_trim_lines_cuts_at_a_line_break_when_one_is_near() -> None:
    text = "line one\nline two\nline three"
    assert trim_lines(text, 20) == "line one\nline two\n…"
    assert len(trim_lines("y" * 100, 10)) == 10


def test_take_says_how_many_were_left_out() -> None:
    assert take([1, 2, 3], 2) == ([1, 2], 1)
    assert take([1], 5) == ([1], 0)
