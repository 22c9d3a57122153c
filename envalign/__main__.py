"""``python -m envalign``."""

import sys

from envalign.cli import main

sys.exit(main())
