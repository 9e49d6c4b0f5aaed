"""``python -m evbt.cli``: the same as the ``evbt`` command."""

import sys

from evbt.cli import main

sys.exit(main())
