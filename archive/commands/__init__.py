"""Groups of ``archive`` subcommands kept out of ``archive/cli.py``; each module's
commands are registered there with ``cli.add_command``."""
