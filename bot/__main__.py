"""`python -m bot` runs the same command line as `desabot`."""

from bot.cli import main

raise SystemExit(main())
