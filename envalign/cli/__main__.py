"""``python -m envalign.cli``: the same command line as ``envalign`` (for launchers such as torchrun)."""

import sys

from envalign.cli import main

sys.exit(main())
