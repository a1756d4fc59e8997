"""The shipped lemma table (classify/lemma_table/) is spacy-lookups-data's
Swedish table as installed, form by form, and built from it byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from classify import lemmas
from classify.lemmas import SHIPPED, Lemmas, build, source_table


def test_every_form_has_the_source_tables_lemma() -> None:
    source = source_table()
    shipped = Lemmas()
    assert len(shipped) == len(source) > 600_000
    wrong = [form for form, lemma in source.items() if shipped.get(form, "") != lemma]
    assert wrong == []
    assert shipped.get("hemtjänsten", "") == source["hemtjänsten"]
    assert shipped.get("synpunktsbrevlådorna-x", "ej") == "ej"


def test_the_shipped_files_are_what_the_build_writes(tmp_path: Path) -> None:
    build(source_table(), tmp_path)
    for name in (lemmas.FORMS, lemmas.LEMMA_IDS, lemmas.LEMMAS):
        assert (tmp_path / name).read_bytes() == (SHIPPED / name).read_bytes(), (
            f"{name} differs from spacy-lookups-data as installed: "
            "rebuild with `python -m classify.lemmas`")


def test_what_a_table_remembers_is_emptied_and_still_right(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lemmas, "REMEMBERED", 3)
    table = Lemmas()
    forms = ["skolorna", "gatorna", "okänd-form", "hemtjänsten", "skolorna", "okänd-form"]
    first = [table.get(f, f) for f in forms]
    assert len(table._seen) <= 3
    assert first == [Lemmas().get(f, f) for f in forms]
    assert first[2] == "okänd-form" and first[0] != "skolorna"
