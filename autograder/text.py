"""Text that came from a submission, made safe to store, print and render.

Whatever a student's code prints, raises or names (an exception message, a file name in
the zip, a notebook cell) reaches results.json, the instructor's terminal and the HTML
report. ``clean`` is applied where such text crosses into the trusted side and again
where it is written out:

* valid Unicode: lone surrogates (from ``surrogateescape``, a ``"\\ud800"`` literal, or a
  half of a pair) become U+FFFD, so encoding as UTF-8 never fails;
* no control or escape sequences: C0 controls other than newline and tab, DEL, C1
  controls (U+0080-U+009F, CSI included) and the bidi overrides and isolates
  (U+202A-U+202E, U+2066-U+2069) are shown as visible text (``\\x1b``, ``\\u202e``), so an
  ``ESC[2J`` or an OSC-8 hyperlink is displayed, never obeyed;
* ``\\r\\n`` and a lone ``\\r`` become ``\\n`` (a carriage return cannot overwrite a line);
* at most ``limit`` characters, with a marker saying how much was cut.

Everything else is kept: accented and non-Latin names ("Nguyễn", "Ó Briain") are intact.
"""
from __future__ import annotations

import html
import re
from typing import Any

_SHOWN = {c: f"\\x{c:02x}" for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, *range(0x80, 0xA0)]}
_SHOWN.update({c: f"\\u{c:04x}" for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]})
_NEEDS_WORK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def cut_marker(count: int) -> str:
    return f"\n... [{count} more characters cut]"


def clean(text: Any, limit: int | None = None) -> str:
    """``text`` (made a ``str`` if it is not one) as safe, visible, valid Unicode of at most ``limit`` characters."""
    if not isinstance(text, str):
        try:
            text = str(text)
        except Exception:
            text = "<unprintable>"
    dropped = 0
    if limit is not None and len(text) > 8 * limit + 64:
        # Escaping at most sextuples a character: a prefix this long fills the limit.
        dropped = len(text) - (8 * limit + 64)
        text = text[: 8 * limit + 64]
    if _NEEDS_WORK.search(text):
        if _SURROGATE.search(text):
            # Valid pairs written as two code points become their character; lone halves U+FFFD.
            text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        text = text.translate(_SHOWN)
    if limit is not None and (dropped or len(text) > limit):
        limit = max(int(limit), 0)
        keep = limit
        for _ in range(3):  # the marker's length depends on the count it states, by a digit at most
            note = cut_marker(len(text) - keep + dropped)
            keep = max(limit - len(note), 0)
        note = cut_marker(len(text) - keep + dropped)
        text = text[:keep] + note if keep + len(note) <= limit else text[:limit]
    return text


def html_text(text: Any) -> str:
    """``text`` for an HTML page: cleaned (as ``clean``), then escaped for element content and quoted attributes."""
    return html.escape(clean(text), quote=True)


def clean_value(value: Any, limit: int | None = None, depth: int = 0) -> Any:
    """``value`` with ``clean`` applied to every string in it (dict keys too), containers rebuilt.

    Lists, tuples and dicts are walked (to a depth of 64; deeper parts are replaced by a
    note); numbers, arrays and other objects are returned as they are.
    """
    if isinstance(value, str):
        return clean(value, limit)
    if depth > 64:
        return "<nested too deeply>"
    if isinstance(value, dict):
        return {clean(k, limit) if isinstance(k, str) else k: clean_value(v, limit, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_value(v, limit, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(clean_value(v, limit, depth + 1) for v in value)
    return value
