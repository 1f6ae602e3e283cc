"""The ``minerplan`` command: argument parsing and one function per subcommand (solvers/ui load lazily)."""
