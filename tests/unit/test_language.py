"""A short pass reads lingua's models lazily, a long-lived process loads them
all when it warms up (classify.language.warm): the answers are the same."""

from __future__ import annotations

from classify import language

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
