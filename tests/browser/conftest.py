"""Headless Chromium (Debian's package, driven by Playwright) against a real ``cuecast up``.

Each test module gets its own system (``up``) and browser; each test a fresh page on the viewer,
whose console errors and uncaught exceptions fail the test. Never a downloaded browser: the
tests use ``/usr/bin/chromium`` (``CUECAST_CHROMIUM`` overrides), which ``scripts/test``
installs from Debian's packages.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.system import system

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    found = os.environ.get("CUECAST_CHROMIUM") or shutil.which("chromium")
    return found or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, int, Path]]:
    """A running ``cuecast up``: (process, port, run dir)."""
    with system(tmp_path_factory.mktemp("browser")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Viewer:
    """One page of the viewer plus what it logged."""

    def __init__(self, page: Any, port: int) -> None:
        self.page = page
        self.port = port
        self.errors: list[str] = []
        self.expected: list[str] = []  # console errors a test causes on purpose
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and not any(e in message.text for e in self.expected):
            self.errors.append(f"console: {message.text}")

    def js(self, expression: str, arg: Any = None) -> Any:
        return self.page.evaluate(expression, arg)

    def wait(self, condition: str, timeout: float = 30.0, arg: Any = None) -> Any:
        """Wait until the JS ``condition`` (a function body's expression) is truthy."""
        handle = self.page.wait_for_function(
            f"(arg) => {{ const c = window.cuecast; return c && ({condition}); }}",
            arg=arg,
            timeout=timeout * 1000,
            polling=100,
        )
        return handle.json_value()


@pytest.fixture
def viewer(up: tuple[Any, int, Path], browser: Any) -> Iterator[Viewer]:
    _, port, _ = up
    context = browser.new_context(viewport={"width": 1600, "height": 900})
    page = context.new_page()
    found = Viewer(page, port)
    page.goto(f"http://127.0.0.1:{port}/")
    yield found
    context.close()
    assert not found.errors, found.errors
