"""The trained classifier through `synpunkt triage` and `synpunkt eval`."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

from classify.corpus import as_message, read
from classify.model import PIECE_CHARS, SpacyClassifier, pieces
from classify.recipe import corpus_files, current_version, trained_version
from config.settings import Settings
from service.app import LazyClassifier
from tests.support import FIXTURES, run_cli

DESIGN_FIELDS = {"category", "enhet", "flags", "extern", "aspects", "confidence", "rule",
                 "explanation", "needs_review"}


def test_the_model_in_use_is_the_current_one() -> None:
    assert trained_version(Settings().model_dir) == current_version()


def test_triage_an_eml_file(tmp_path: Path) -> None:
    out = run_cli("triage", str(FIXTURES / "18_fel_medicin_hemtjanst.eml"), "--json",
                  home=tmp_path).stdout
    result = json.loads(out)
    assert set(result) >= DESIGN_FIELDS
    assert result["category"] in ("klagomal", "synpunkt", "berom")
    assert result["model_version"] == current_version()
    assert "personnummer" in {s["kind"] for s in result["sensitive"]}
    assert "sekretess" in result["flags"]  # a personnummer is a confidential marker
    assert not (tmp_path / "synpunkt.sqlite3").exists()  # no side effects


def test_triage_plain_text_on_stdin_explained(tmp_path: Path) -> None:
    text = "Gatlampan utanför Björkvägen 12 har varit trasig i tre veckor nu, det är becksvart."
    proc = run_cli("triage", "-", "--explain", home=tmp_path, stdin=text.encode())
    assert "Kategori:" in proc.stdout
    assert "Poäng:" in proc.stdout
    result = json.loads(run_cli("triage", "-", "--json", home=tmp_path,
                                stdin=text.encode()).stdout)
    assert result["language"] == "sv"
    assert result["sensitive"] == []


def test_eval_reports_the_design_fields(tmp_path: Path) -> None:
    test_split = [e for e in read(corpus_files()) if e.split == "test"][:120]
    dataset = tmp_path / "test.jsonl"
    dataset.write_text("\n".join(json.dumps({
        "id": e.id, "channel": e.channel, "from": e.sender, "subject": e.subject,
        "text": e.text, "category": e.category, "enhet": e.enhet, "flags": list(e.flags),
        "extern": e.extern, "aspects": list(e.aspects)}, ensure_ascii=False)
        for e in test_split), "utf-8")
    figures = json.loads(run_cli("eval", str(dataset), "--json", home=tmp_path).stdout)
    assert figures["n"] == 120
    assert set(figures["category"]["per_class"]) == {"klagomal", "synpunkt", "berom"}
    assert 0.0 <= figures["category"]["macro_f1"] <= 1.0
    assert {"accuracy"} <= set(figures["enhet"])
    assert {"accuracy"} <= set(figures["extern"])
    assert set(figures["flags"]["allvarlig_handelse"]) >= {"precision", "recall"}
    assert 0.0 <= figures["coverage"] <= 1.0  # decided alone: few, chosen on real texts
    assert {"false_rate", "recall"} <= set(figures["extern"])
    assert 0.0 <= figures["calibration"]["ece"] <= 1.0
    assert sum(b["n"] for b in figures["calibration"]["bins"]) == 120
    assert figures["category"]["macro_f1"] > 0.6  # far above chance (0.33) on held-out mail
    human = run_cli("eval", str(dataset), home=tmp_path).stdout
    assert "Förväxlingsmatris" in human and "Kalibrering: ECE" in human


def test_batched_equals_one_at_a_time() -> None:
    clf = SpacyClassifier(Settings().model_dir)
    messages = [as_message(e) for e in list(read(corpus_files()))[:40]]
    # A mail with neither subject nor text (only an attachment) in the batch:
    # spaCy's n-grams break on a doc of no tokens among others.
    messages.insert(7, dataclasses.replace(messages[0], subject="", text=""))
    one_by_one = [clf.classify(m) for m in messages]
    assert clf.classify_many(messages) == one_by_one
    # in pieces of a few texts (the default), and all in one piece
    assert len(pieces(range(len(messages)), [m.text for m in messages], PIECE_CHARS)) > 1
    assert clf.classify_many(messages, piece_chars=10**9) == one_by_one


def test_pieces_keep_the_order_and_the_bound() -> None:
    texts = ["a" * n for n in (10, 30, 50, 5, 200, 0, 60, 40)]
    runs = pieces(range(len(texts)), texts, 100)
    assert runs == [[0, 1, 2, 3], [4], [5, 6, 7]]  # 200 alone; 0 + 60 + 40 = 100
    assert [i for run in runs for i in run] == list(range(len(texts)))
    assert pieces([], texts, 100) == []


def test_an_instance_is_named_only_when_the_model_is_sure() -> None:
    """A named instance changes the receipt ("turn to Region Ekland"): a weak
    extern hint flags the case but names nobody."""
    clf = SpacyClassifier(Settings().model_dir)
    message = as_message(next(iter(read(corpus_files()))))
    base = {k: 0.0 for k in clf.nlp.get_pipe("textcat_ansvar").labels}
    base |= {"kategori:berom": 0.9, "kategori:klagomal": 0.05, "kategori:synpunkt": 0.05}
    low = clf.thresholds.flags["extern"]
    hint = base | {"ansvar:ekbyskolan": 0.6, "ansvar:extern:region": 0.3,
                   "flagga:extern": max(low, 0.01) + 0.001}
    triage = clf._triage(message, hint, [])
    assert "extern" in triage.flags
    assert triage.extern is None
    sure = base | {"ansvar:extern:region": 0.99, "flagga:extern": 0.9}
    triage = clf._triage(message, sure, [])
    assert triage.extern == "region"
    assert triage.suggested_enhet == "registrator"


def test_the_pipeline_runs_on_numpy_blas_one_thread_with_blis_scores() -> None:
    """The CNN's products go to OpenBLAS on one thread (classify.model.load_pipeline),
    and the scores are BLIS's to within float32 rounding."""
    import spacy
    from threadpoolctl import threadpool_info

    clf = SpacyClassifier(Settings().model_dir)
    cnn = [layer for layer in clf.nlp.get_pipe("tok2vec").model.walk()
           if layer.name.startswith("maxout")]
    assert cnn and all(not layer.ops.use_blis for layer in cnn)
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
    blis = spacy.load(Settings().model_dir / "nlp")
    assert any(layer.ops.use_blis for layer in blis.get_pipe("tok2vec").model.walk()
               if layer.name.startswith("maxout"))
    texts = [e.text.lower() for e in read(corpus_files()) if e.split == "test"][:40]
    for ours, theirs in zip(clf.nlp.pipe(texts), blis.pipe(texts), strict=True):
        assert ours.cats.keys() == theirs.cats.keys()
        assert max(abs(ours.cats[k] - theirs.cats[k]) for k in ours.cats) < 1e-4


def _unheard_words(seed: int, n: int) -> str:
    """Words no vocabulary has: each one a new string for spaCy to keep."""
    rnd = random.Random(seed)
    return " ".join("".join(rnd.choice("bdfghklmnprstv") + rnd.choice("aeiouyåäö")
                            for _ in range(5)) for _ in range(n))


def test_a_model_whose_vocabulary_has_grown_past_its_bound_is_loaded_anew(
        tmp_path: Path) -> None:
    """spaCy keeps every new word for the life of the process: a worker's
    model is loaded anew past ``model_strings``, and answers as before."""
    classifier = LazyClassifier(Settings(home=tmp_path), model_strings=500)
    message = as_message(next(iter(read(corpus_files()))))
    before = classifier.classify(message)
    first = classifier._get()
    assert isinstance(first, SpacyClassifier)
    noise = [dataclasses.replace(message, text=_unheard_words(i, 40)) for i in range(30)]
    classifier.classify_many(noise)
    assert first.strings_learned() > 500  # the old one took them in
    renewed = classifier._get()
    assert renewed is not first and isinstance(renewed, SpacyClassifier)
    assert renewed.strings_learned() == 0
    assert classifier.classify(message) == before
