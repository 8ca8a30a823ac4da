"""``python -m alambic.cli``."""

from alambic.cli import main

main()
