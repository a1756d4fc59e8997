"""The project's packages in layers, the bottom first. A module imports only
from its own package or from a lower layer (tests/unit/test_layers.py keeps it
so); packages on the same layer do not import each other.

    cli                         the command line, above all
    workers, review             the processes and the web
    service                     the application service: what happens to a
                                message, a case, a deadline; builds resources
    notify                      outbox, rendering, delivery by SMTP and SMS
    cases                       the case register (database, state machines)
    routing                     the rule engine
    classify                    the Swedish classifier
    ingest, deadlines           reading input; the working-day calendar
    config                      settings, configuration files, the exceptions
"""

from __future__ import annotations

LAYERS: tuple[tuple[str, ...], ...] = (
    ("config",),
    ("ingest", "deadlines"),
    ("classify",),
    ("routing",),
    ("cases",),
    ("notify",),
    ("service",),
    ("workers", "review"),
    ("cli",),
)

PACKAGES: tuple[str, ...] = tuple(p for layer in LAYERS for p in layer)


def layer_of(package: str) -> int:
    """The layer number of a top-level package (0 is the bottom)."""
    for number, layer in enumerate(LAYERS):
        if package in layer:
            return number
    raise KeyError(package)
