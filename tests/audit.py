"""pip-audit over the installed dependencies, for tests/run: exits 1 on any
known vulnerability. pip-audit asks PyPI's JSON API per version
(/pypi/NAME/VERSION/json). Where that answers 404 (as the PyPI this project's
machines reach does) pip-audit skips the package; for those this script asks
the project's JSON (/pypi/NAME/json), whose `vulnerabilities` are those of
the latest release: exact when the installed version is the latest. Whatever
could not be audited either way is listed, never passed over silently.

Usage: .venv/bin/python tests/audit.py [--json]"""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
import urllib.request
from typing import Any

PYPI = "https://pypi.org/pypi/{name}/json"


def pip_audit() -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "pip_audit", "-f", "json", "--skip-editable",
                           "--progress-spinner", "off"], capture_output=True, text=True,
                          timeout=600, check=False)
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise SystemExit(f"audit: pip-audit failed ({done.returncode}):\n{done.stderr}")
    deps: list[dict[str, Any]] = json.loads(done.stdout)["dependencies"]
    return deps


def latest_vulns(name: str, version: str) -> list[str] | None:
    """The ids affecting ``version`` per the project's JSON, or None if that cannot tell."""
    try:
        with urllib.request.urlopen(PYPI.format(name=name), timeout=30) as answer:
            data = json.load(answer)
    except (OSError, ValueError):
        return None
    if data.get("info", {}).get("version") != version:
        return None
    return [v["id"] for v in data.get("vulnerabilities") or [] if not v.get("withdrawn")]


def main() -> int:
    found: list[str] = []
    unaudited: list[str] = []
    deps = pip_audit()
    by_service = 0
    for dep in deps:
        name = dep["name"]
        version = dep.get("version") or importlib.metadata.version(name)
        if "skip_reason" not in dep:
            by_service += 1
            found += [f"{name} {version}: {v['id']} (fixed in {', '.join(v['fix_versions'])})"
                      for v in dep.get("vulns", [])]
            continue
        ids = latest_vulns(name, version)
        if ids is None:
            unaudited.append(f"{name} {version}")
        else:
            found += [f"{name} {version}: {i} (per PyPI's project JSON)" for i in ids]
    audited = len(deps) - len(unaudited)
    print(f"audit: {len(deps)} packages; {by_service} audited by pip-audit's service, "
          f"{audited - by_service} through PyPI's project JSON, {len(unaudited)} not audited"
          + (f" ({', '.join(unaudited)})" if unaudited else ""))
    for line in found:
        print(f"audit: VULNERABLE {line}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
