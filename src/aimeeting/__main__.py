import sys

from aimeeting.cli import main

sys.exit(main())
