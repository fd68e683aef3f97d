import pytest
from report_browser import Chromium, chromium_binary


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium for the page checks."""
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium); the browser checks need it")
    chromium = Chromium(binary)
    yield chromium
    chromium.close()
