"""The customers' app on the web: bundle size (gzip) and time to the first interactive screen,
next to a blank Expo SDK 57 app exported the same way, in the same run.

    .venv/bin/python bench/app_startup.py [--runs 5]

Both apps are built with `expo export --platform web`: Lendflow's through `lendflow app`'s own
function (cached by source hash), the blank one from `create-expo-app --template
blank-typescript@57.0.28` in `.run/bench/blank-expo` (created, installed and exported on the first run,
with the react-dom / react-native-web / @expo/metro-runtime versions mobile/'s lock installs). Each is
served by the same static server `lendflow app` uses, on a free loopback port, and opened in Debian's
headless Chromium (Playwright) at 390×844, a fresh browser context (empty cache) per run.

- size: every JavaScript file of the export, gzip level 9, summed (and the raw bytes).
- time to interactive: `performance.now()` in the page (milliseconds since the navigation started)
  at the first animation frame where the first screen's main control is in the DOM and enabled:
  Lendflow's log-in button (`data-testid=login-submit`), the blank app's only text. The median of
  `--runs` runs is printed, with the minimum and maximum.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from stack_support import ServerThread, free_port

from lendflow import REPO_ROOT
from lendflow.commands.app import MOBILE_DIR, ensure_web_export, web_app
from lendflow.settings import get_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
BLANK_DIR = REPO_ROOT / ".run" / "bench" / "blank-expo"
BLANK_TEMPLATE = "blank-typescript@57.0.28"
CREATE_EXPO_APP = "create-expo-app@5.0.0"


@dataclass
class Measured:
    name: str
    js_bytes: int
    js_gzip_bytes: int
    tti_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.tti_ms)


def _run(command: list[str], cwd: Path) -> None:
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{(completed.stdout + completed.stderr)[-3000:]}")


def build_blank() -> Path:
    """A blank Expo SDK 57 app, made web-capable with the same packages mobile/ uses, exported."""
    dist = BLANK_DIR / "dist"
    if (dist / "index.html").exists():
        return dist
    BLANK_DIR.parent.mkdir(parents=True, exist_ok=True)
    if not (BLANK_DIR / "package.json").exists():
        shutil.rmtree(BLANK_DIR, ignore_errors=True)
        print("bench: creating a blank Expo app…", flush=True)
        _run(
            ["npx", "--yes", CREATE_EXPO_APP, BLANK_DIR.name, "--template", BLANK_TEMPLATE, "--no-install"],
            BLANK_DIR.parent,
        )
    # The very versions mobile/'s lock file installed (react-dom must match react exactly).
    web_packages = [
        f"{name}@{json.loads((MOBILE_DIR / 'node_modules' / name / 'package.json').read_text())['version']}"
        for name in ("react-dom", "react-native-web", "@expo/metro-runtime")
    ]
    print("bench: installing it…", flush=True)
    _run(["npm", "install", "--no-audit", "--no-fund", "--legacy-peer-deps", *web_packages], BLANK_DIR)
    print("bench: exporting it for the web…", flush=True)
    _run(["npx", "--no-install", "expo", "export", "--platform", "web"], BLANK_DIR)
    return dist


def bundle_sizes(dist: Path) -> tuple[int, int]:
    raw = gz = 0
    for path in dist.rglob("*.js"):
        data = path.read_bytes()
        raw += len(data)
        gz += len(gzip.compress(data, compresslevel=9))
    return raw, gz


async def time_to_interactive(url: str, ready_js: str, runs: int) -> list[float]:
    from playwright.async_api import async_playwright

    times: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = await browser.new_context(viewport={"width": 390, "height": 844})
                page = await context.new_page()
                await page.goto(url, wait_until="commit")
                await page.wait_for_function(ready_js, polling="raf", timeout=60_000)
                times.append(await page.evaluate("performance.now()"))
                await context.close()
        finally:
            await browser.close()
    return times


async def measure(name: str, dist: Path, ready_js: str, runs: int) -> Measured:
    port = free_port()
    server = ServerThread(web_app(dist), port)
    server.start()
    try:
        raw, gz = bundle_sizes(dist)
        return Measured(name, raw, gz, await time_to_interactive(server.url, ready_js, runs))
    finally:
        server.stop()


LENDFLOW_READY = "() => { const b = document.querySelector('[data-testid=login-submit]'); return !!b && b.getAttribute('aria-disabled') !== 'true'; }"
BLANK_READY = "() => document.body.innerText.includes('App.tsx')"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    settings = get_settings()
    lendflow_dist = ensure_web_export(MOBILE_DIR, api_url=f"http://{settings.api.host}:{settings.api.port}", say=print)
    blank_dist = build_blank()
    app = await measure("lendflow app", lendflow_dist, LENDFLOW_READY, args.runs)
    blank = await measure("blank Expo 57", blank_dist, BLANK_READY, args.runs)
    print(f"{'':16} {'JS (raw)':>12} {'JS (gzip)':>12} {'TTI median':>11} {'min':>8} {'max':>8}")
    for m in (app, blank):
        print(
            f"{m.name:16} {m.js_bytes / 1024:>9.1f} KiB {m.js_gzip_bytes / 1024:>8.1f} KiB {m.median:>8.0f} ms"
            f" {min(m.tti_ms):>5.0f} ms {max(m.tti_ms):>5.0f} ms"
        )
    print(
        f"ratio (lendflow / blank): JS gzip {app.js_gzip_bytes / blank.js_gzip_bytes:.2f}x, "
        f"time to interactive {app.median / blank.median:.2f}x  ({args.runs} runs each, headless Chromium, 390x844)"
    )


if __name__ == "__main__":
    asyncio.run(main())
