"""A PostgreSQL primary and its streaming replica from the system's binaries: initdb, then
pg_basebackup -R (a standby.signal and primary_conninfo), each on its own port, trust
auth on 127.0.0.1. `make cluster` keeps them in var/cluster/, the replica tests and the
topology faults in a temp dir. Run as the postgres user when this process is root.
"""

import contextlib
import glob
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import psycopg2

from minitwitter_tools.devservices import free_port


def pg_bin():
    """/usr/lib/postgresql/<newest>/bin, or None when PostgreSQL's server binaries are missing."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name))
    bins = [b for b in bins if (Path(b) / "pg_basebackup").exists() and (Path(b) / "initdb").exists()]
    return Path(bins[-1]) if bins else None


class Server:
    """One postgres process: its data directory, port and log."""

    def __init__(self, bin, root, name, port):
        self.bin, self.dir, self.name, self.port = bin, Path(root), name, port
        self.data = self.dir / name
        self.log = self.dir / f"{name}.log"

    def url(self, database="postgres"):
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args, timeout=120):
        command = [str(self.bin / args[0]), *map(str, args[1:])]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")
        return done

    @property
    def running(self):
        return (self.data / "postmaster.pid").exists()

    @property
    def socket_dir(self):
        """Its own directory, unless a socket's path there would pass the 107 bytes a Unix
        socket's path may have (a deep checkout): then /tmp (its name holds the port)."""
        return self.dir if len(f"{self.dir}/.s.PGSQL.{self.port}.lock") <= 100 else Path("/tmp")

    def start(self):
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
        self.run("pg_ctl", "start", "-w", "-t", "60", "-D", self.data, "-l", self.log, "-o", options)

    def stop(self, mode="fast"):
        if self.running:
            with contextlib.suppress(subprocess.SubprocessError, RuntimeError):
                self.run("pg_ctl", "stop", "-m", mode, "-w", "-D", self.data)

    def kill(self):
        """The postmaster killed -9 (its backends exit on their own)."""
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 9)


class PrimaryReplica:
    """A primary and one streaming replica of it (hot standby), in `root`."""

    def __init__(self, root, primary_port=None, replica_port=None):
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL server binaries (initdb, pg_basebackup) not found in /usr/lib/postgresql")
        self.root = Path(root)
        self.primary = Server(self.bin, self.root, "primary", primary_port or free_port())
        self.replica = Server(self.bin, self.root, "replica", replica_port or free_port())
        self._any_port = {"primary": primary_port is None, "replica": replica_port is None}

    def start(self):
        """Make both on first use (initdb, pg_basebackup -R), then start both. The replica
        follows the primary on the port the primary has this time (a free one each run,
        unless given): its primary_conninfo is rewritten to it before it starts."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        if not self.primary.data.exists():
            self.primary.run("initdb", "-D", self.primary.data, "-A", "trust", "-U", "postgres", "-N")
            conf = (
                "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\nfsync = off\n"
                "max_connections = 200\nhot_standby_feedback = on\n"
            )
            with open(self.primary.data / "postgresql.conf", "a") as f:
                f.write(conf)
        self._start(self.primary)
        if not self.replica.data.exists():
            self.primary.run(
                "pg_basebackup", "-h", "127.0.0.1", "-p", self.primary.port, "-U", "postgres",
                "-D", self.replica.data, "-R", "-X", "stream", "-c", "fast",
            )  # fmt: skip
        self._follow_primary()
        self._start(self.replica)
        return self

    def _follow_primary(self):
        auto = self.replica.data / "postgresql.auto.conf"
        text = auto.read_text()
        lines = [
            re.sub(r"\bport=\d+", f"port={self.primary.port}", line) if line.startswith("primary_conninfo") else line
            for line in text.splitlines(keepends=True)
        ]
        if "".join(lines) != text:
            with open(auto, "w") as f:  # rewritten in place: it keeps its owner (postgres)
                f.write("".join(lines))

    def _start(self, server, attempts=3):
        """Start `server`. When its port was chosen free, another process (another test
        run) may have taken it before postgres bound it: then on another port (pg_ctl -w
        waits on the server's own socket directory, never on another server)."""
        tries = attempts if self._any_port[server.name] else 1
        for attempt in range(tries):
            try:
                return server.start()
            except RuntimeError:
                if attempt == tries - 1 or "already in use" not in server.log.read_text(errors="replace"):
                    raise
                server.port = free_port()

    def stop(self, mode="fast"):
        self.replica.stop(mode)
        self.primary.stop(mode)

    def admin(self, server):
        conn = psycopg2.connect(server.url())
        conn.autocommit = True
        return conn

    def lsn(self):
        with contextlib.closing(self.admin(self.primary)) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_current_wal_lsn() - '0/0'")
            return int(cur.fetchone()[0])

    def replayed(self):
        with contextlib.closing(self.admin(self.replica)) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_last_wal_replay_lsn() - '0/0'")
            return int(cur.fetchone()[0])

    def wait_replayed(self, timeout=30.0):
        """Until the replica has replayed everything the primary has written so far."""
        target, deadline = self.lsn(), time.monotonic() + timeout
        while self.replayed() < target:
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not catch up")
            time.sleep(0.02)

    def wait_received(self, timeout=30.0):
        """Until the replica has received (not yet replayed) everything the primary has written
        so far: a replica that has not received a commit cannot know it is behind it."""
        target, deadline = self.lsn(), time.monotonic() + timeout
        while True:
            with contextlib.closing(self.admin(self.replica)) as conn, conn.cursor() as cur:
                cur.execute("SELECT pg_last_wal_receive_lsn() - '0/0'")
                if int(cur.fetchone()[0]) >= target:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("the replica did not receive the primary's writes")
            time.sleep(0.02)

    def pause_replay(self, paused=True):
        with contextlib.closing(self.admin(self.replica)) as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()")
