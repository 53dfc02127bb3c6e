"""Student-derived text is made safe at the boundary: valid UTF-8, no control or escape
sequence obeyed (shown as visible text instead), line breaks normalised, length capped;
legitimate non-ASCII text is kept as it is."""
from __future__ import annotations

import pytest

from autograder.text import clean, clean_value


def test_names_with_accents_and_other_scripts_are_kept_exactly():
    for name in ("Nguyễn Văn Anh", "Ó Briain", "Zoë Çelik-Øvergård", "李小龙", "Đặng", "Łukasz Żółć", "שלום", "😀 emoji"):
        assert clean(name) == name


def test_tabs_and_newlines_are_kept():
    assert clean("a\tb\nc") == "a\tb\nc"


def test_lone_surrogates_become_the_replacement_character_and_encode_as_utf8():
    text = clean("bad \ud800 and \udcff end")
    assert text == "bad \ufffd and \ufffd end"
    text.encode("utf-8")  # never raises


def test_a_surrogate_pair_written_as_two_code_points_becomes_its_character():
    assert clean("\ud83d\ude00") == "😀"


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b[8mhidden\x1b[0m", "\\x1b[8mhidden\\x1b[0m"),
        ("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"),
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "\\x1b]8;;https://evil.example\\x1b\\click\\x1b]8;;\\x1b\\"),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("nul\x00bell\x07bs\x08ff\x0cvt\x0b", "nul\\x00bell\\x07bs\\x08ff\\x0cvt\\x0b"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b31m c1\x85\x9f", "csi\\x9b31m c1\\x85\\x9f"),
        ("abc\u202egnp.exe", "abc\\u202egnp.exe"),
        ("\u202a\u202b\u202c\u202d\u2066\u2067\u2068\u2069", "\\u202a\\u202b\\u202c\\u202d\\u2066\\u2067\\u2068\\u2069"),
    ],
    ids=["SGR conceal", "clear screen", "OSC-8 hyperlink", "OSC title with BEL", "C0 controls", "DEL", "C1 controls", "RLO", "bidi embeddings and isolates"],
)
def test_control_escape_and_bidi_characters_are_shown_as_text(raw, shown):
    out = clean(raw)
    assert out == shown
    assert not any(0x00 <= ord(c) < 0x20 and c not in "\t\n" or 0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in out)


def test_carriage_returns_become_newlines():
    assert clean("a\r\nb\rc\n\rd") == "a\nb\nc\n\nd"


def test_length_is_capped_with_a_marker_saying_how_much_was_cut():
    out = clean("x" * 10_000, 500)
    assert len(out) <= 500
    assert out.startswith("x" * 100)
    assert out.endswith("more characters cut]")
    count = int(out.rsplit("[", 1)[1].split()[0])
    assert count + out.count("x") == 10_000


def test_the_cap_counts_the_escaped_text_and_holds_for_huge_inputs():
    out = clean("\x1b" * 1_000_000, 4000)
    assert len(out) <= 4000 and "\x1b" not in out and "more characters cut" in out
    assert clean("short", 4000) == "short"
    assert len(clean("y" * 100, 10)) <= 10


def test_non_strings_are_made_strings():
    assert clean(12) == "12"
    assert clean(None) == "None"


def test_clean_value_cleans_every_string_keys_included_and_leaves_the_rest():
    value = {"k\x1b": ["v\ud800", ("t\r", 3)], "n": 1.5, "none": None, "b": True}
    assert clean_value(value) == {"k\\x1b": ["v\ufffd", ("t\n", 3)], "n": 1.5, "none": None, "b": True}
