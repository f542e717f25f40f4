"""`python -m exports`: see exports/cli.py."""

from __future__ import annotations

import sys

from exports.cli import main

sys.exit(main())
