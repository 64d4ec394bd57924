"""`python -m archsim` is the same as the `archsim` console script."""
import sys

from archsim.cli import main

sys.exit(main())
