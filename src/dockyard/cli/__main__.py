"""``python -m dockyard.cli``."""

from __future__ import annotations

from dockyard.cli.main import main

main()
