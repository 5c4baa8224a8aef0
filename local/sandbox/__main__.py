"""`python -m local.sandbox [--port N]`: the vendor sandboxes in the foreground."""

import sys

from local.sandbox.server import main

sys.exit(main())
