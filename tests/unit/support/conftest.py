"""Make the helper modules in tests/support importable by bare name (as the pytest
``pythonpath`` setting will for the whole suite)."""

from __future__ import annotations

import sys
from pathlib import Path

SUPPORT = str(Path(__file__).resolve().parents[2] / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)
