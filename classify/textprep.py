"""The one text the statistical model sees, at training and at prediction:
subject and text, sensitive spans masked, lower-cased (BOW features are
case-sensitive). Stop words are never removed: `inte`, `aldrig`, `ingen`,
`tack` and `beslut` carry the meaning here."""

from __future__ import annotations

from classify.sensitive import Sensitive, mask


def model_text(subject: str, text: str, spans: list[Sensitive] | None = None) -> str:
    body = mask(text, spans)
    joined = f"{mask(subject)}\n{body}" if subject else body
    return joined.lower()
