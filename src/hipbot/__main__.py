"""`python -m hipbot` runs the command line."""

from .cli import main

main()
