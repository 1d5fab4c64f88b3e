"""The ``realtime-trio`` command and its subcommands."""
