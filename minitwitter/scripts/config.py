"""minitwitter-config > production.ini: print the example ini for deployers.

It is the repository's production.ini, shipped in the package: waitress settings, JSON
logs, and every URL and secret left to the environment (or set in [app:main]).
"""

import sys
from importlib.resources import files


def example_ini():
    return files("minitwitter").joinpath("production.ini").read_text()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        sys.exit(__doc__.strip())
    sys.stdout.write(example_ini())


if __name__ == "__main__":
    main()
