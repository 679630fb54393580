import sys

from tribute.cli import main

sys.exit(main())
