"""``python -m minerplan.cli.main``: the same entry point as the ``minerplan`` command."""
from minerplan.cli.main import entry

if __name__ == "__main__":
    entry()
