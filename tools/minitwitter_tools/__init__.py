"""Development and benchmark tooling for minitwitter (the tools/ distribution).

run       minitwitter-run: `make run` (embedded servers, migrations, pserve, Celery)
populate  minitwitter-populate: the benchmark datasets (`make populate`)
bench     minitwitter-bench: docs/BENCH.md's table, measured with wrk (`make bench`)
faults    minitwitter-faults: faults injected under load (`make faults`)
"""
