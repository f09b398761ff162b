"""Command-line options of the test suite, registered here at the root so that `pytest` finds them before
it collects `tests/` (a conftest under testpaths is read too late for options)."""


def pytest_addoption(parser):
    parser.addoption("--screenshots", default=None, metavar="DIR",
                     help="browser tests save their screenshots in DIR (docs/screenshots refreshes the README's); "
                          "default: a temporary folder")
