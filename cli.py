"""`scaling`: plan language-model training with scaling laws (the command-line entry point).

The verbs live in :mod:`scaling.commands`, one small module each; this file only exposes
the click group so that ``python cli.py ...`` works from a checkout. The installed
``scaling`` command points at :func:`scaling.commands.main` directly.
"""

from __future__ import annotations

import sys

from scaling.commands import main

__all__ = ["main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
