"""Edits to a statement's source text at AST positions, keeping its line count.

The CUDA rewrite and the cut-down of if/try/with blocks are applied this way, so that the
student's comments and line numbers stay as written.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass


def char_col(line: str, byte_col: int) -> int:
    """AST columns count UTF-8 bytes; convert to a character index into ``line``."""
    if line.isascii():
        return byte_col
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))


@dataclass
class Edit:
    start: tuple[int, int]  # (line, byte col)
    end: tuple[int, int]
    text: str  # replacement; the line count of the span is preserved


def node_start(node: ast.stmt) -> tuple[int, int]:
    """(line, byte col) where a statement starts; a negative col means its first decorator's."""
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        first = min(decorators, key=lambda d: (d.lineno, d.col_offset))
        return first.lineno, -first.col_offset - 1  # negative: find the '@' before this column
    return node.lineno, node.col_offset


def with_newlines(text: str, start: tuple[int, int], end: tuple[int, int], closing: str = "") -> str:
    """``text`` padded with the newlines the span from ``start`` to ``end`` covers."""
    return text + "\n" * (end[0] - start[0]) + closing


def apply_edits(lines: list[str], edits: list[Edit], reference: list[str]) -> list[str]:
    """Apply non-overlapping edits (outer ones, then earlier ones, win) to a copy of ``lines``.

    Edit columns are UTF-8 byte offsets into ``reference`` (the lines the AST was parsed from).
    """
    lines = list(lines)
    spans = []
    for edit in edits:
        (sl, sb), (el, eb) = edit.start, edit.end
        spans.append(((sl, char_col(reference[sl - 1], sb)), (el, char_col(reference[el - 1], eb)), edit.text))
    spans.sort(key=lambda s: (s[0], (-s[1][0], -s[1][1])))  # stable: on equal spans the first edit wins
    kept = []
    last_end = (0, -1)
    for span in spans:
        if span[0] >= last_end:
            kept.append(span)
            last_end = span[1]
    for (sl, sc), (el, ec), text in reversed(kept):
        before, after = lines[sl - 1][:sc], lines[el - 1][ec:]
        new = (before + text + after).split("\n")
        lines[sl - 1 : el] = new
    return lines
