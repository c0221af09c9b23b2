"""The ``dockyard-runtime`` entry point: as small as possible, so that it is cheap to compile.

A command run once per container operation: like ``python -I``, it does not let the caller's
PYTHONDONTWRITEBYTECODE make it recompile its own modules on every run (cached bytecode is most
of the difference between a 20 ms and a 100 ms start). The flag is set before they load; this
module itself is the only one compiled each time. The command line lives in ``command``.
"""

import sys

sys.dont_write_bytecode = False

from dockyard.runtime.command import main  # noqa: E402

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
