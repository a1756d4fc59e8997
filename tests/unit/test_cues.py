"""The appeal cue: found as people write it, cancelled by a negation in its clause."""

from __future__ import annotations

import pytest

from classify.cues import appeal, cued


@pytest.mark.parametrize(("text", "found"), [
    ("Jag vill överklaga beslutet om hemtjänst.", "överklaga"),
    ("overklagar beslutet om ledsagning", "overklagar"),  # SMS without å/ä/ö
    ("Vi begär omprövning av beslutet.", "omprövning"),
    ("Fick faktura på 1200 kr. Betalar inte, bestrider den.", "bestrider"),
    ("I want to appeal the decision about my mother.", "appeal"),
    ("Jag godtar inte beslutet om nattillsyn.", "godtar inte beslutet"),
    ("Snälla, ändra beslutet om matlåda.", "ändra beslutet"),
    ("Who do I talk to about changing the decision?", "changing the decision"),
    ("Jag tänker inte överklaga något, men vill säga min mening.", None),
    ("Vi har inte fått något beslut, så vi kan inte ens överklaga.", None),
    ("Det behövdes aldrig något överklagande.", None),
    ("Min son fick inte göra omprov i fysik.", None),  # a school re-test, not an appeal
    ("Tack för ett bra bemötande i receptionen.", None),
])
def test_appeal_cue(text: str, found: str | None) -> None:
    assert appeal(text) == found


def test_only_flags_with_a_cue_have_one() -> None:
    assert cued("overklagande", "Jag överklagar.") == "överklagar"
    assert cued("allvarlig_handelse", "Jag överklagar.") is None
