"""Keep spreadsheet formulas out of every CSV the book writes (CSV injection).

A spreadsheet that opens a CSV file runs a cell that begins with ``=``, ``+``,
``-`` or ``@`` as a formula (and some treat a leading tab or carriage return the
same way): ``=HYPERLINK("http://example.invalid","x")`` becomes a live link,
``=cmd|' /C calc'!A0`` may start a program. Following OWASP's advice
(https://owasp.org/www-community/attacks/CSV_Injection), such a cell is written
with a single quote in front, which spreadsheets show as text.

Two defences use this module:

* ``defection.data`` refuses such a cell in a text column of ``data/`` outright
  (:func:`starts_like_formula`), naming file, row and column;
* every CSV the build writes (chart downloads, the served ``data/*.csv`` and
  their ``_downloads/`` copies, the wheel's data) goes through
  :func:`neutralise_csv_text` anyway, in case a value reaches a CSV some other
  way.

A cell that is exactly a number (``-2``, ``+3.5``, ``-1e3``) is left alone: a
spreadsheet reads it as that number, and numeric columns must keep their sign.
"""
from __future__ import annotations

import csv
import io
import re

__all__ = ["TRIGGERS", "starts_like_formula", "neutralise", "neutralise_csv_text", "neutralise_csv_bytes",
           "line_terminator"]

#: First characters a spreadsheet may take as the start of a formula.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def starts_like_formula(value: str) -> bool:
    """True if ``value`` (or the value with leading spaces removed) begins like a formula."""
    if not isinstance(value, str) or not value:
        return False
    return value.startswith(TRIGGERS) or value.lstrip(" ").startswith(TRIGGERS)


def neutralise(value):
    """``value`` as a spreadsheet will show it as text: a formula-like string gets a leading ``'``.

    Non-strings (numbers, None) and strings that are exactly a number are returned unchanged.
    """
    if isinstance(value, str) and starts_like_formula(value) and not _NUMBER.fullmatch(value.strip()):
        return "'" + value
    return value


def line_terminator(values, preferred: str = "\n") -> str:
    """``preferred``, or ``"\r\n"`` if a value holds a carriage return: Python's csv module
    quotes a cell only for the characters of its line terminator, and an unquoted
    carriage return would split the row in a spreadsheet."""
    if preferred != "\r\n" and any(isinstance(v, str) and "\r" in v for v in values):
        return "\r\n"
    return preferred


def _line_terminator(text: str) -> str:
    return "\r\n" if text.split("\n", 1)[0].endswith("\r") else "\n"


def neutralise_csv_text(text: str) -> str:
    """The CSV ``text`` with every formula-like cell neutralised.

    Returns ``text`` itself (byte for byte) when no cell needed it, so clean
    files are served exactly as they are in the repository.
    """
    rows = list(csv.reader(io.StringIO(text, newline="")))
    changed = False
    for row in rows:
        for i, cell in enumerate(row):
            safe = neutralise(cell)
            if safe is not cell:
                row[i] = safe
                changed = True
    if not changed:
        return text
    out = io.StringIO(newline="")
    terminator = line_terminator((c for row in rows for c in row), _line_terminator(text))
    csv.writer(out, lineterminator=terminator).writerows(rows)
    return out.getvalue()


def neutralise_csv_bytes(raw: bytes) -> bytes:
    """:func:`neutralise_csv_text` for a UTF-8 file (a byte-order mark is kept)."""
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    safe = neutralise_csv_text(text)
    if safe is text:
        return raw
    return (b"\xef\xbb\xbf" if bom else b"") + safe.encode("utf-8")
