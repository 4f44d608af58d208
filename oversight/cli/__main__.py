"""``python -m oversight.cli``: the same as the ``oversight`` console script."""

import sys

from oversight.cli import main

sys.exit(main())
