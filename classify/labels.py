"""Label names inside the spaCy pipeline, and the gold ``cats`` of an example.

The classifiers write into one ``cats`` (spaCy's ``doc.cats``, and the linear
model's category and flags beside them); prefixes keep them apart:
``kategori:klagomal``, ``flagga:sekretess``, ``aspekt:avgift`` and
``ansvar:gata_park`` or ``ansvar:extern:region``.
"""

from __future__ import annotations

from classify.corpus import ASPECTS, CATEGORIES, FLAGS, Example
from config.organisation import Organisation

CATEGORY, FLAG, ASPECT, ANSVAR = "kategori:", "flagga:", "aspekt:", "ansvar:"
EXTERN = "extern:"


def ansvar_labels(org: Organisation) -> list[str]:
    return ([ANSVAR + e.id for _, _, e in org.enheter()]
            + [ANSVAR + EXTERN + x.id for x in org.externa_instanser])


def gold_cats(example: Example, org: Organisation) -> dict[str, float]:
    cats = {CATEGORY + c: float(example.category == c) for c in CATEGORIES}
    cats |= {FLAG + f: float(f in example.flags) for f in FLAGS}
    cats |= {ASPECT + a: float(a in example.aspects) for a in ASPECTS}
    owner = ANSVAR + (EXTERN + example.extern if example.extern else example.enhet)
    cats |= {label: float(label == owner) for label in ansvar_labels(org)}
    return cats
