"""The trained pipeline, loaded once per process: Message -> Triage."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from classify import cues, familiar, language, sensitive
from classify.corpus import ASPECTS, FLAGS
from classify.labels import ANSVAR, ASPECT, CATEGORY, EXTERN, FLAG
from classify.linear import LinearCategory
from classify.textprep import model_text
from classify.thresholds import Thresholds
from classify.triage import Category, Flag, SensitiveSpan, Triage
from config.errors import PermanentError
from ingest.message import Message

REGISTRATOR = "registrator"
# The spaCy pipeline reads a batch's texts in pieces of at most this many
# characters (some 800 tokens; a longer text is a piece of its own). On the
# side-by-side corpus's mail, a batch of 32 read whole cost 4.6 ms a text,
# in pieces of 4,000 characters 4.0, of 2,000 4.6 again, of 8,000 4.2; the
# short SMS texts the same either way (benchmarks/pipe_pieces.py, RESULTS
# 2026-12-06 fifth session).
PIECE_CHARS = 4000
SURE_EXTERN = 0.5  # the extern flag's own score at which a named instance is trusted


class ModelMissingError(PermanentError):
    """No trained model where the settings say; `synpunkt train` builds one."""


def load_pipeline(path: Path) -> Any:
    """The trained spaCy pipeline at ``path``, for prediction: its matrix
    products on numpy's BLAS (OpenBLAS) rather than thinc's default, BLIS,
    which was three times slower in the CNN's product where it was measured
    (docs/classifier.md); the scores agree to a few millionths. BLAS is held
    to one thread in the process: the workers are the parallelism, and a
    second BLAS thread spends more CPU a text than it saves in wall time."""
    import spacy
    from thinc.api import use_ops
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    with use_ops("numpy", use_blis=False):  # each layer keeps the ops it was made with
        return spacy.load(path)


class SpacyClassifier:
    def __init__(self, model_dir: Path) -> None:
        if not (model_dir / "nlp").is_dir():
            raise ModelMissingError(f"ingen modell i {model_dir}; kör `synpunkt train`")
        self.nlp = load_pipeline(model_dir / "nlp")
        self._strings_at_load = len(self.nlp.vocab.strings)
        meta = json.loads((model_dir / "meta.json").read_text("utf-8"))
        self.version: str = meta["version"]
        self.textprep: str = meta.get("textprep", "forms")
        known = model_dir / "vocabulary.txt"
        self.vocabulary = frozenset(known.read_text("utf-8").split()) if known.exists() else (
            frozenset())
        # The category's own model (classify/linear.py); a model trained
        # before it had spaCy's bag-of-words category in the pipeline.
        self.category: LinearCategory | None = (
            LinearCategory.load(model_dir / "category") if (model_dir / "category").is_dir()
            else None)
        t = json.loads((model_dir / "thresholds.json").read_text("utf-8"))
        self.thresholds = Thresholds(t["category"], t["enhet"], t["flags"], t["aspects"],
                                     t.get("category_weights", {}), t.get("temperature", 1.0))

    def classify(self, message: Message) -> Triage:
        return self.classify_many([message])[0]

    def strings_learned(self) -> int:
        """Strings the pipeline's vocabulary has taken in since it was loaded:
        spaCy keeps every new word it reads, for as long as the process
        lives (service.app.LazyClassifier loads the model anew past a bound)."""
        return len(self.nlp.vocab.strings) - self._strings_at_load

    def classify_many(self, messages: Sequence[Message],
                      piece_chars: int = PIECE_CHARS) -> list[Triage]:
        spans = [sensitive.find(m.text) for m in messages]
        texts = [model_text(m.subject, m.text, s, self.textprep)
                 for m, s in zip(messages, spans, strict=True)]
        return [
            self._triage(m, cats, s, familiar.unknown_share(text, self.vocabulary))
            for m, cats, s, text in zip(messages, self.cats(texts, piece_chars), spans, texts,
                                        strict=True)
        ]

    def cats(self, texts: Sequence[str],
             piece_chars: int = PIECE_CHARS) -> list[dict[str, float]]:
        """Every label's score for each prepared text: the spaCy pipeline's,
        with the category and the flags the linear model reads under the
        same ``kategori:`` and ``flagga:`` names (classify/linear.py)."""
        # A text of no tokens in a batch breaks spaCy's n-gram extraction
        # (IndexError): it goes through on its own, as a single call does.
        out: list[dict[str, float]] = [{} for _ in texts]
        for piece in pieces([i for i, t in enumerate(texts) if t], texts, piece_chars):
            for i, doc in zip(piece, self.nlp.pipe([texts[i] for i in piece],
                                                   batch_size=len(piece)), strict=True):
                out[i] = dict(doc.cats)
        for i, t in enumerate(texts):
            if not t:
                out[i] = dict(self.nlp(t).cats)
        if self.category is not None:
            for cats, (category, flags) in zip(out, self.category.scores(texts), strict=True):
                cats.update({CATEGORY + c: p for c, p in category.items()})
                cats.update({FLAG + f: p for f, p in flags.items()})
        return out

    def _triage(self, message: Message, cats: dict[str, float],
                spans: list[sensitive.Sensitive], unknown: float | None = None) -> Triage:
        t = self.thresholds
        by_category = {k.removeprefix(CATEGORY): float(v) for k, v in cats.items()
                       if k.startswith(CATEGORY)}
        category = t.category_of(by_category)
        confidence = t.confidence(by_category, category)
        text = f"{message.subject}\n{message.text}"
        flags = {f for f in FLAGS if cats.get(FLAG + f, 0.0) >= t.flags.get(f, 0.5)
                 or cues.cued(f, text)}
        aspects = {a for a in ASPECTS if cats.get(ASPECT + a, 0.0) >= t.aspects.get(a, 0.5)}
        owner, owner_conf = _best(cats, ANSVAR)
        # The extern flag is raised at a recall-oriented threshold: a hint for
        # the registrator. Naming the instance changes what the sender is told
        # ("turn to Försäkringskassan"), so that needs the model to be sure:
        # its best owner is that instance, or the flag itself is likely.
        extern = None
        best_extern, _ = _best(cats, ANSVAR + EXTERN)
        if owner.startswith(EXTERN) and (
                owner_conf >= t.enhet or cats.get(FLAG + "extern", 0.0) >= SURE_EXTERN):
            extern = best_extern
            flags.add("extern")
        suggested = REGISTRATOR if extern else (
            owner if owner_conf >= t.enhet and not owner.startswith(EXTERN) else None)
        ids = sensitive.identity_numbers(spans)
        if ids:  # a personnummer is a concrete confidential marker (labels.md)
            flags.add("sekretess")
        reasons = []
        if confidence < t.category:
            reasons.append(f"osäker kategori ({confidence:.0%})")
        if unknown is not None and unknown >= familiar.UNFAMILIAR:
            reasons.append(f"ovanlig text: {unknown:.0%} av orden har modellen aldrig sett")
        if "allvarlig_handelse" in flags:
            # The routing routine alerts the chefs at once; a person confirms or dismisses.
            reasons.append("möjlig allvarlig händelse: bekräfta eller avfärda (cheferna larmas)")
        return Triage(
            category=Category(category),
            flags=frozenset(Flag(f) for f in flags),
            aspects=frozenset(aspects),
            extern=extern,
            suggested_enhet=suggested,
            top_enhet=REGISTRATOR if owner.startswith(EXTERN) else (owner or REGISTRATOR),
            enhet_confidence=round(owner_conf, 4),
            confidence=round(confidence, 4),
            scores=tuple(sorted((k, round(v, 4)) for k, v in cats.items())),
            language=language.detect(message.text) if message.text else language.DEFAULT,
            sensitive_spans=tuple(SensitiveSpan(s.kind, s.start, s.end) for s in spans),
            needs_review=bool(reasons),
            review_reasons=tuple(reasons),
            model_version=self.version,
        )


def pieces(places: Sequence[int], texts: Sequence[str], chars: int) -> list[list[int]]:
    """``places`` in order, cut into runs whose texts hold at most ``chars``
    characters together (a longer text is a run of its own)."""
    runs: list[list[int]] = []
    size = chars + 1
    for place in places:
        if size + len(texts[place]) > chars:
            runs.append([])
            size = 0
        runs[-1].append(place)
        size += len(texts[place])
    return runs


def _best(cats: dict[str, Any], prefix: str) -> tuple[str, float]:
    scored = [(k, float(v)) for k, v in cats.items() if k.startswith(prefix)]
    if not scored:
        return "", 0.0
    label, value = max(scored, key=lambda kv: kv[1])
    return label.removeprefix(prefix), value
