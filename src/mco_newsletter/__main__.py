"""`python -m mco_newsletter` runs the command line."""

from .cli import main

main()
