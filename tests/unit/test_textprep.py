"""The model's text: lemmatized on spaCy's Swedish tokens, read without the
tokenizer's special cases unless one stands in the text
(classify.textprep.lemmatize). The tokens must be exactly those of the full
tokenizer, which the shipped model was trained on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classify import textprep
from classify.corpus import read
from classify.recipe import corpus_files

ROOT = Path(__file__).resolve().parents[2]
REALTEXT = ROOT.parent / "shared" / "realtext" / "dev.jsonl"

# Where the special cases change the tokens, and look-alikes where they do not.
WRITTEN = [
    "t.ex. kl. 8", "(t.ex.)", "Det gäller t.ex, kanske", "min. två veckor", "min pappa",
    ": ) :) :-) ;)", "hej:)", "ok.:)", "(:", "Hörru du", "hörru!", "kl.,", "(kl. 10)",
    '"kl."', "s.k. trygghetsboende", "o.s.v.", "''citat''", "a. b. c.", "M/S Birka",
    "10 °C.", "<3 tack", "mvh.\nAnna", "p.g.a. snön", "T.ex:", "t.ex", "kl", "Kr. 300",
    "e-post: anna@example.se", "https://ekby.se/t.ex./sida", "100 kr.", "Dr. Berg", ".", "",
    "  dubbla  blanksteg\n\n\tflik", "Ang. beslutet", "ang.beslutet", "övers. av",
    "flyttade till gbg", "det ligger i.", "mån. 3 jan.",
]


def _texts() -> list[str]:
    texts = [e.subject + "\n" + e.text for e in read(corpus_files())]
    texts += [json.loads(line)["text"] for line in REALTEXT.read_text("utf-8").splitlines()
              if line.strip()]
    texts += WRITTEN
    return texts + [t.lower() for t in texts]


def _full(text: str) -> str:
    tokens, table = textprep._tools()
    return " ".join(table.get(t.text, t.text) for t in tokens.full(text))


def test_the_tokens_are_the_full_tokenizers() -> None:
    texts = _texts()
    assert len(texts) > 10_000
    different = [t for t in texts if textprep.lemmatize(t) != _full(t)]
    assert different == []


@pytest.mark.parametrize("text", ["t.ex. kl. 8", "hej:)", "Hörru du", "(kl. 10)", "p.g.a. snön"])
def test_a_special_case_changes_the_tokens(text: str) -> None:
    """The written cases above would prove nothing if the special cases did
    not matter: here they do."""
    tokens, table = textprep._tools()
    assert " ".join(table.get(t.text, t.text) for t in tokens.plain(text)) != _full(text)



def test_a_tokenizer_whose_vocabulary_has_grown_past_its_bound_is_built_anew(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(textprep, "TOKENIZER_STRINGS", 300)
    text = "hemtjänsten kom inte i tisdags, t.ex. kl. 8"
    before = textprep.lemmatize(text)
    first, _ = textprep._tools()
    words = " ".join(f"ordet{i}x" for i in range(400))  # 400 strings it never saw
    textprep.lemmatize(words)
    renewed, _ = textprep._tools()
    assert renewed is not first
    assert textprep.lemmatize(text) == before
