"""`python -m forum COMMAND`: the command line of server.py under the installed name.

A module, not a package: like server.py and demo.py it is one file the wheel installs
at the top level (pyproject's py-modules), and it adds no layer (tests/test_layers.py)."""

from __future__ import annotations

import sys

from server import main

if __name__ == "__main__":
    sys.exit(main())
