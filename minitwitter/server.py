"""The waitress server for pserve, with the PORT environment variable honoured.

`[server:main] use = egg:minitwitter#waitress` takes every waitress option from the
ini; PORT, when set, replaces the port of each `listen` address.
"""

import os

from waitress import serve_paste


def serve(app, global_conf, **settings):
    port = os.environ.get("PORT")
    if port:
        addresses = settings.get("listen", "127.0.0.1:6543").split()
        settings["listen"] = " ".join(f"{address.rsplit(':', 1)[0]}:{port}" for address in addresses)
    return serve_paste(app, global_conf, **settings)
