"""The whole configuration directory, loaded and validated at once.

``load_kommun(path)`` reads a config directory: organisation.yaml,
routines.yaml and every template are validated and compiled, so a mistake
surfaces as one ConfigError at start-up rather than in the middle of the night.
The rules file (routing.yaml) is the routing layer's own: ``routing.load.
load_kommun_rules`` reads it, and ``service.app.build_app`` loads both.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2

from config.errors import ConfigError
from config.organisation import Organisation, load_organisation
from config.routines import Rutiner, load_routines
from config.yamlfile import read_yaml

TEMPLATES = ("mottagningsbevis.subject.j2", "mottagningsbevis.txt.j2", "mottagningsbevis.sms.j2",
             "forseningsbesked.subject.j2", "forseningsbesked.txt.j2", "forseningsbesked.sms.j2")


@dataclass(frozen=True)
class Kommun:
    """A kommun's configuration: organisation, routines and templates."""

    directory: Path
    organisation: Organisation
    routines: Rutiner
    templates: jinja2.Environment


def load_kommun(directory: Path) -> Kommun:
    if not directory.is_dir():
        raise ConfigError(directory, None, "konfigurationskatalogen finns inte")
    organisation = load_organisation(read_yaml(directory / "organisation.yaml"))
    routines = load_routines(read_yaml(directory / "routines.yaml"))
    templates = _templates(directory / "templates")
    return Kommun(directory, organisation, routines, templates)


def _templates(directory: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - plain-text mail, never rendered as HTML
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    for name in TEMPLATES:
        path = directory / name
        try:
            env.get_template(name)
        except jinja2.TemplateNotFound:
            raise ConfigError(path, None, "mallen saknas") from None
        except jinja2.TemplateSyntaxError as exc:
            raise ConfigError(path, exc.lineno, f"fel i mallen: {exc.message}") from None
    return env
