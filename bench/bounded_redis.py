"""Redis memory while writing 5 million distinct versions under a small maxmemory (issue 30).

One-off figure for docs/SCALING.md, not a test: a redis-server of its own on a free port
with `maxmemory` (default 50 MB) and an eviction policy; store/cache.py's Cache bumps
versions in batches of 1,000 names (each name new: post:<n>), reads back 1 name in 5
(making it afresh when it was evicted) and fills an entry for it, like the app does.
INFO memory's used_memory is sampled every 100,000 versions; the highest is printed.

    .venv/bin/python bench/bounded_redis.py [--versions 5000000] [--maxmemory-mb 50]
        [--policy allkeys-lru] [--redis-server PATH]
"""

import argparse
import shutil
import subprocess
import tempfile
import time

import redis

from minitwitter.store.cache import Cache
from minitwitter_tools.devservices import free_port


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--versions", type=int, default=5_000_000)
    parser.add_argument("--maxmemory-mb", type=int, default=50)
    parser.add_argument("--policy", default="allkeys-lru")
    parser.add_argument("--redis-server", default=shutil.which("redis-server"))
    args = parser.parse_args()
    limit = args.maxmemory_mb * 1024 * 1024
    workdir, port = tempfile.mkdtemp(prefix="bounded-redis-"), free_port()
    server = subprocess.Popen(
        [args.redis_server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--maxmemory", str(limit), "--maxmemory-policy", args.policy],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        client = redis.Redis(port=port)
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        version = client.info("server")["redis_version"]
        cache = Cache(f"redis://127.0.0.1:{port}/0", 5.0)
        started, highest, refused, samples = time.monotonic(), 0, 0, []
        batch = 1000
        for first in range(0, args.versions, batch):
            names = [f"post:{n}" for n in range(first, first + batch)]
            refused += not cache.bump(*names)
            _, versions = cache.get_versioned(names[::5])
            cache.set_versioned(dict.fromkeys(names[::5], {"text": "x" * 40}), versions)
            if (first + batch) % 100_000 == 0:
                used = client.info("memory")["used_memory"]
                highest = max(highest, used)
                samples.append((first + batch, used))
        info = client.info()
        print(f"redis {version}, policy {args.policy}, maxmemory {limit} B ({args.maxmemory_mb} MB)")
        print(f"{args.versions} distinct versions in {time.monotonic() - started:.0f} s, bumps refused: {refused}")
        for written, used in samples[:: max(1, len(samples) // 10)] + samples[-1:]:
            print(f"  after {written:>9} versions: used_memory {used / 1048576:6.2f} MB")
        print(f"highest used_memory sampled: {highest} B ({highest / 1048576:.2f} MB), keys now {info['db0']['keys']}")
        print(f"evicted_keys {info['evicted_keys']}, expired_keys {info['expired_keys']}")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
