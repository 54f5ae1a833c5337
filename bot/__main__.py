"""``python -m bot``: the command line lives in ``bot.cli``."""

import gc
import sys

from bot.cli.main import YOUNG_COLLECTION_EVERY, main

if __name__ == "__main__":
    # Start-up (the config's models, the providers, the app) allocates a few hundred
    # thousand objects that live as long as the process: at Python's default threshold
    # the collector walked them some 150 times per start, a tenth of its CPU, freeing
    # nothing. ``serve`` collects this rarely once it runs; every command does from here.
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *gc.get_threshold()[1:])
    sys.exit(main())
