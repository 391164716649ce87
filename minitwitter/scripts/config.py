"""minitwitter-config > production.ini: print the example ini for deployers.
minitwitter-config --markdown > docs/CONFIGURATION.md: print the settings' page.

The ini is the repository's production.ini, shipped in the package: waitress settings,
JSON logs, and every URL and secret left to the environment (or set in [app:main]). The
page is made from the table of minitwitter/settings.py; tests/test_settings.py fails
while docs/CONFIGURATION.md differs from it.
"""

import sys
from importlib.resources import files

from minitwitter.settings import SETTINGS, Derived

INTRO = """\
# Configuration

<!-- Generated from the table in minitwitter/settings.py by
`minitwitter-config --markdown > docs/CONFIGURATION.md`: edit the table, then run that. -->

Settings come from the ini's `[app:main]` section (`development.ini` for `make run`,
`production.ini` for a deployment: `minitwitter-config` prints it), overridden by the
environment variable a row names (an empty variable counts as unset). A value that does
not parse as its type, or a required one that is missing, stops the service at startup
with a message naming every such setting.
"""

OUTRO = """
Not settings of `[app:main]`:

- `[server:main]` is waitress's (minitwitter/web/server.py): `listen`, `threads`,
  `shutdown_timeout` (3.5 s: a stopping process finishes the requests in flight within it),
  `switch_interval` (Python's GIL switch interval; production.ini's 0.0001 and why are in
  its comments and in [PERFORMANCE.md](PERFORMANCE.md)), and waitress's own options.
- `MINITWITTER_DEV_SERVICES=1` (set by `make`): the tools' commands (`make run`, `make migrate`,
  `make populate`) may start the embedded PostgreSQL and Redis for what the ini and the
  environment leave unconfigured; the package's own commands never do.
"""


def _cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default(setting):
    if isinstance(setting.default, Derived):
        return setting.default.shown
    return f"`{setting.default}`" if setting.default != "" else "unset"


def markdown():
    """docs/CONFIGURATION.md: the intro, a row per setting, and what is not a setting."""
    lines = [
        INTRO,
        "| setting | environment | type | default | required | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for s in SETTINGS:
        env = f"`{s.env}`" if s.env else ""
        required = s.required.shown if s.required else ""
        cells = (f"`{s.key}`", env, s.type.name, _default(s), required, s.doc)
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n" + OUTRO


def example_ini():
    return files("minitwitter").joinpath("production.ini").read_text()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--markdown"]:
        sys.stdout.write(markdown())
    elif argv:
        sys.exit(__doc__.strip())
    else:
        sys.stdout.write(example_ini())


if __name__ == "__main__":
    main()
