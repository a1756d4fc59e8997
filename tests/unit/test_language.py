"""A short pass reads lingua's models lazily, a long-lived process loads them
all when it warms up (classify.language.warm): the answers are the same."""

from __future__ import annotations

import json
from pathlib import Path

from classify import language

ROOT = Path(__file__).resolve().parents[2]
PARTS = ROOT / "classify" / "data" / "parts"
REALTEXT = ROOT.parent / "shared" / "realtext" / "dev.jsonl"

TEXTS = [
    "Hemtjänsten kom inte i dag och ingen svarade när jag ringde till kontoret.",
    "The home care staff did not come today and nobody answered the phone.",
    "Kotihoito ei tullut tänään eikä kukaan vastannut puhelimeen toimistossa.",
    "Opieka domowa nie przyszła dzisiaj i nikt nie odebrał telefonu w biurze.",
    "Daryeelka gurigu maanta ma iman qofna kama jawaabin taleefanka xafiiska.",
    "Kućna njega danas nije došla i niko se nije javio na telefon u uredu.",
    "La atención domiciliaria no vino hoy y nadie contestó el teléfono.",
    "Die Hauspflege ist heute nicht gekommen und niemand ging ans Telefon.",
]


def _answers(preloaded: bool) -> list[tuple[str, float]]:
    detector = language._built(preloaded)
    return [(str(v.language), round(v.value, 9))
            for text in TEXTS for v in detector.compute_language_confidence_values(text)[:2]]


def test_lazily_read_and_preloaded_models_answer_the_same() -> None:
    assert _answers(False) == _answers(True)
    assert [language.detect(t) for t in TEXTS] == ["sv", "en", "fi", "pl", "so", "bs", "es", "de"]


def test_what_its_words_call_swedish_lingua_calls_swedish_too() -> None:
    """The shortcut in ``detect`` never says Swedish of a text lingua would
    not: measured on the corpus and the real-text yardstick, and it decides
    most of them (else it would save nothing)."""
    texts = [json.loads(line)["text"] for path in sorted(PARTS.glob("*.jsonl"))
             for line in path.read_text("utf-8").splitlines() if line.strip()]
    texts += [json.loads(line)["text"] for line in REALTEXT.read_text("utf-8").splitlines()
              if line.strip()]
    detector = language._built(True)
    decided = [t for t in texts if language.plainly_swedish(language._WORDS.findall(t[:2000]))]
    said = [detector.detect_language_of(t[:2000]) for t in decided]
    assert {str(s) for s in said} == {"Language.SWEDISH"}
    assert len(decided) > 0.7 * len(texts)
    english = [t for t in texts if language.detect(t) == "en"]
    assert len(english) > 150, "the corpus's English texts still go to lingua"
