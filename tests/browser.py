"""Shared helpers of the headless-Chromium tests (Debian chromium driven by Playwright); the
``browser`` fixture is in tests/conftest.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
DESKTOP = {"width": 1400, "height": 1000}
PHONE = {"width": 390, "height": 844}

#: marks for a browser test module: ``pytestmark = BROWSER_MARKS``
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Debian chromium not found at {CHROMIUM}"),
]


def open_page(browser: Any, path: Path, viewport: dict[str, int] = DESKTOP) -> tuple[Any, dict[str, list]]:
    """Open ``path`` in a new page; return it with the console messages, page errors and
    requests it records."""
    page = browser.new_page(viewport=viewport)
    events: dict[str, list] = {"console": [], "requests": [], "pageerrors": []}
    page.on("console", lambda m: events["console"].append((m.type, m.text)))
    page.on("pageerror", lambda exc: events["pageerrors"].append(str(exc)))
    page.on("request", lambda r: events["requests"].append(r.url))
    page.goto(path.resolve().as_uri(), wait_until="load")
    return page, events


def assert_clean(events: dict[str, list]) -> None:
    """No console errors or warnings, no page errors, no request beyond file: and data: URLs."""
    errors = [t for kind, t in events["console"] if kind in ("error", "warning")]
    assert not errors, errors
    assert not events["pageerrors"], events["pageerrors"]
    bad = [u for u in events["requests"] if not (u.startswith("file://") or u.startswith("data:"))]
    assert not bad, f"network requests made: {bad}"
