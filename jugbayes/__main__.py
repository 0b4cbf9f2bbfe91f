import sys

from jugbayes.cli import main

sys.exit(main())
