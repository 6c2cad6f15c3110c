"""``python -m naviyam.api '<json>'``: the process that serves (``naviyam serve`` becomes it; see naviyam.api.server)."""

import sys

from naviyam.api.server import main

if __name__ == "__main__":
    sys.exit(main())
