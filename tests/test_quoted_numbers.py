"""Each fact stated once (issue 24): a count from the dataset quoted in the glossary, the
teacher pages or the question bank must be a number ``defection.facts`` computes, not a
retyped one that can go stale. The bank writes such numbers as ``{fact:NAME}``; these
tests catch a number typed by hand."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from conftest import ROOT, chapter_docnames

sys.path.insert(0, str(ROOT / "_ext"))

#: "<number> <what the dataset counts>": the phrases that quote the dataset.
COUNTED = re.compile(r"(?<![\w.,$])(\d{1,3}(?:,\d{3})*|\d+)\s+(?:of\s+(?:the|its)\s+\d[\d,]*\s+)?"
                     r"(?:documented\s+|recorded\s+|violent\s+|named\s+)?"
                     r"(cases|defections|defectors|rows|acts|kidnappings|killings|assassinations|"
                     r"names listed|renunciations)\b", re.I)


def computed_numbers() -> set[int]:
    from defection import facts

    values = set()
    for docname in chapter_docnames():
        for value in facts.for_chapter(docname).values():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.add(round(value))
    return values


def quoted(text: str) -> list[tuple[int, str]]:
    text = re.sub(r"\{fact:[a-z0-9_]+\}", "", text)  # placeholders: filled from facts.py
    text = re.sub(r"\{glue(?::text)?\}`[^`]+`", "", text)  # glued: computed
    found = [(int(m.group(1).replace(",", "")), m.group(0)) for m in COUNTED.finditer(text)]
    # "the 1953 defectors": a year, not a count (counts of a thousand and more carry a comma)
    return [(v, phrase) for v, phrase in found if not (1900 <= v <= 2030 and "," not in phrase)]


def sources() -> list[Path]:
    return [ROOT / "chapters" / "glossary.md", *sorted((ROOT / "chapters" / "teachers").glob("*.md")),
            *sorted((ROOT / "questions").glob("*.yml")), *sorted((ROOT / "teaching").glob("*.yml"))]


@pytest.mark.parametrize("path", sources(), ids=lambda p: p.name)
def test_dataset_counts_are_the_computed_ones(path):
    numbers = computed_numbers()
    wrong = [phrase for value, phrase in quoted(path.read_text(encoding="utf-8")) if value not in numbers]
    assert not wrong, f"{path.relative_to(ROOT)} quotes dataset counts that defection.facts does not compute: " \
                      f"{wrong}; write them as {{fact:NAME}} (bank) or take them from the chapter"


def test_the_check_catches_a_stale_number():
    numbers = computed_numbers()
    stale = max(numbers) + 7
    assert [v for v, _ in quoted(f"The dataset has {stale} cases.") if v not in numbers] == [stale]
    assert not quoted("It has {fact:ch1_n_cases} cases and {glue:text}`ch1_n_cases` rows.")
