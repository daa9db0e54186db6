"""``python -m searchsvc`` runs the command line."""

import sys

from searchsvc.cli import main

sys.exit(main())
