"""Named queries: every sql/<group>.sql file becomes tx.queries.<group> (store/tx.py).

    tx.queries.users.get_user(tx.db, user_id=7)

aiosql reads the `-- name: get_user(user_id)^` comments: the name, its parameters,
then a suffix saying what comes back (`^` one row, `$` one value, `!` a row count,
`<!` the RETURNING row, none: rows).
Rows are dicts (RealDictCursor). The ini's `sql.path` points at the folder, so a
DBA can tune a file and restart the service.
"""

from pathlib import Path
from types import SimpleNamespace

import aiosql

from minitwitter.store.db import preparable


def load(sql_path):
    groups = {}
    for path in sorted(Path(sql_path).glob("*.sql")):
        groups[path.stem] = aiosql.from_path(path, "psycopg2")
        for name in groups[path.stem].available_queries:  # run as prepared statements (store/db.py)
            fn = getattr(groups[path.stem], name)
            preparable(fn.sql, generic="Plan: generic" in (fn.__doc__ or ""))
    if not groups:
        raise RuntimeError(f"no .sql files found in {sql_path}")
    return SimpleNamespace(**groups)
