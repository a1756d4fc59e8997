"""Swedish lemmas from spacy-lookups-data's lookup table, shipped compact.

The table maps 660,305 word forms to 93,224 lemmas. Read from its JSON as a
Python dict it cost every classifying process 0.6–0.8 s of CPU at start and
143–147 MiB of memory. Here it is three files under ``lemma_table/``, built from
that JSON by ``python -m classify.lemmas``: the forms in a marisa trie
(1.4 MB, memory-mapped: the pages are the file's, shared by every process),
each form's lemma as a 32-bit index by the form's id in the trie, and the
lemmas one per line. Opening them takes milliseconds.

A lookup in the trie costs about 0.85 µs against a dict's 0.2, and a text's
words repeat, so each ``Lemmas`` keeps the lemmas it has looked up (a plain
dict, emptied when it reaches ``REMEMBERED``).

tests/unit/test_lemmas.py holds the shipped files equal to the installed
spacy-lookups-data's table, form by form. The classifier and the routing
rules share the table."""

from __future__ import annotations

import array
import gzip
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

SHIPPED = Path(__file__).resolve().parent / "lemma_table"
FORMS, LEMMA_IDS, LEMMAS = "forms.marisa", "lemma_ids.u32", "lemmas.txt"
REMEMBERED = 200_000  # forms a process keeps at hand (about 25 MiB at most)


class Lemmas:
    """The lookup table, read-only: ``get(form, default)`` like a dict's."""

    def __init__(self, folder: Path = SHIPPED) -> None:
        import marisa_trie

        self._forms = marisa_trie.Trie()
        self._forms.mmap(str(folder / FORMS))
        self._ids = array.array("I")
        self._ids.frombytes((folder / LEMMA_IDS).read_bytes())
        if sys.byteorder == "big":  # written little-endian
            self._ids.byteswap()
        self._lemmas = (folder / LEMMAS).read_text("utf-8").split("\n")
        self._seen: dict[str, str] = {}  # "": not in the table (no lemma is empty)

    def __len__(self) -> int:
        return len(self._forms)

    def get(self, form: str, default: str) -> str:
        found = self._seen.get(form)
        if found is None:
            key = self._forms.get(form)
            found = "" if key is None else self._lemmas[self._ids[key]]
            if len(self._seen) >= REMEMBERED:
                self._seen.clear()
            self._seen[form] = found
        return found or default


@lru_cache(maxsize=1)
def lemma_table() -> Lemmas:
    return Lemmas()


def lemma(form: str) -> str:
    """The lookup table's lemma of ``form``, or ``form`` itself."""
    return lemma_table().get(form, form)


def source_table() -> dict[str, str]:
    """spacy-lookups-data's Swedish table as installed: what the shipped
    files are built from and held equal to."""
    import spacy_lookups_data

    path = Path(str(spacy_lookups_data.sv["lemma_lookup"]))
    packed = path.with_name(path.name + ".gz")
    raw = gzip.decompress(packed.read_bytes()) if packed.exists() else path.read_bytes()
    table: dict[str, str] = json.loads(raw)
    return table


def build(table: dict[str, str], folder: Path) -> None:
    """Write ``table`` as the three files in ``folder``."""
    import marisa_trie

    lemmas = sorted(set(table.values()))
    if "" in lemmas or any("\n" in text for text in (*lemmas, *table)):
        raise ValueError("a lemma is empty, or a form or lemma holds a line break")
    place = {text: i for i, text in enumerate(lemmas)}
    forms: Any = marisa_trie.Trie(table.keys())
    ids = array.array("I", [0]) * len(forms)
    for form, text in table.items():
        ids[forms[form]] = place[text]
    if sys.byteorder == "big":
        ids.byteswap()
    folder.mkdir(parents=True, exist_ok=True)
    forms.save(str(folder / FORMS))
    (folder / LEMMA_IDS).write_bytes(ids.tobytes())
    (folder / LEMMAS).write_text("\n".join(lemmas), "utf-8")


if __name__ == "__main__":
    source = source_table()
    build(source, SHIPPED)
    print(f"{len(source)} forms written to {SHIPPED}", file=sys.stderr)
