"""One exception tree: every exception class the project defines descends
from SynpunktError, through exactly one of its three kinds."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from config.errors import OutcomeUnknownError, PermanentError, SynpunktError, TransientError
from config.layers import PACKAGES

KINDS = (TransientError, PermanentError, OutcomeUnknownError)


def _project_exceptions() -> list[type[BaseException]]:
    found: list[type[BaseException]] = []
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if ".migrations" in info.name:
                continue
            module = importlib.import_module(info.name)
            found += [obj for _n, obj in inspect.getmembers(module, inspect.isclass)
                      if issubclass(obj, BaseException) and obj.__module__ == info.name]
    return found


def test_every_exception_is_in_the_one_tree() -> None:
    mine = _project_exceptions()
    assert len(mine) >= 12
    outside = [e.__qualname__ for e in mine if not issubclass(e, SynpunktError)]
    assert outside == []
    for error in mine:
        if error is SynpunktError or error in KINDS:
            continue
        kinds = [k.__name__ for k in KINDS if issubclass(error, k)]
        assert len(kinds) == 1, (error.__qualname__, kinds)
