"""Screenshots of the main pages for the README, from the demo's cases:

    .venv/bin/python tests/screenshots.py review/screenshots

Runs `synpunkt demo` in a fresh home, adds a registrator and a chef, serves
`synpunkt web` and photographs the pages in Debian's chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "synpunkt"
PASSWORD = "ett långt lösenord 2026"


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp())
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNPUNKT_")}
    env["SYNPUNKT_HOME"] = str(home)
    subprocess.run([BIN, "demo"], env=env, check=True, capture_output=True)
    for email, role, enhet in (("eva.registrator@ekby.example", "registrator", None),
                               ("robert.strom@ekby.example", "chef", "gata_park")):
        args = [BIN, "users", "add", email, "--role", role, "--password-stdin"]
        subprocess.run(args + (["--enhet", enhet] if enhet else []), env=env, check=True,
                       input=PASSWORD + "\n", text=True, capture_output=True)
    web = subprocess.Popen([BIN, "web", "--port", "8777"], env=env)
    try:
        for _ in range(100):
            try:
                if httpx.get("http://127.0.0.1:8777/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox", "--disable-gpu"])
            for email, shots in (("eva.registrator@ekby.example",
                                  (("/inkorg", "inkorg"), ("/statistik", "statistik"))),
                                 ("robert.strom@ekby.example", (("/enhet", "enhet"),))):
                page = browser.new_page(viewport={"width": 1280, "height": 800})
                page.goto("http://127.0.0.1:8777/login")
                page.fill("#email", email)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                for path, name in shots:
                    page.goto(f"http://127.0.0.1:8777{path}")
                    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                if email.startswith("eva"):
                    page.goto("http://127.0.0.1:8777/inkorg")
                    page.click("table a >> nth=0")
                    page.screenshot(path=str(out / "arende.png"), full_page=True)
            browser.close()
    finally:
        web.terminate()
        web.wait()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "review" / "screenshots")
