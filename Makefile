# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv and install on first use (the service with its dev and test extras,
# and the tooling in tools/); with DATABASE_URL / REDIS_URL unset they start an embedded
# PostgreSQL and a Redis server in ./var.

# Another Python: `make test PYTHON=python3.13 VENV=.venv313` (CI runs 3.11 and 3.13).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
INI ?= development.ini
# Under make, the tools' commands (minitwitter-dev-migrate, -populate) may start the
# development servers (tools/minitwitter_tools/devservices.py) for what the ini and the
# environment leave unconfigured; the deploy commands the wheel ships never do.
export MINITWITTER_DEV_SERVICES ?= 1

.PHONY: run test lint format migrate install clean populate bench faults stress cluster cluster-faults fanout backup restore

# The bench needs the tools' `bench` extra (matplotlib) and wrk.
BENCH_INSTALLED := $(VENV)/.bench-installed
POPULATE_ARGS ?= --dataset d1
BENCH_ARGS ?=

$(INSTALLED): setup.py tools/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,test]' -e tools
	touch $(INSTALLED)

install: $(INSTALLED)

# Also https on PORT + 443 (6986; HTTPS_PORT overrides, 0 turns it off) through haproxy with a
# self-signed certificate (tools/minitwitter_tools/tls.py); without haproxy, http only.
run: $(INSTALLED)
	@command -v haproxy >/dev/null || (apt-get update -qq && apt-get install -y -qq haproxy) || \
		echo "haproxy could not be installed: no https port"
	$(BIN)/minitwitter-run $(INI)

# The scaled-out topology on this machine (tools/minitwitter_tools/cluster.py): haproxy on
# PORT in front of one `pserve production.ini` per core, PgBouncer, a PostgreSQL primary
# and streaming replica, Redis, RabbitMQ, a Celery worker per queue and one beat; what
# DATABASE_URL, REDIS_URL, CELERY_BROKER_URL name is used instead. Ctrl-C stops it all.
# CLUSTER_ARGS="--processes 1 --redis cluster" for others (minitwitter-cluster --help).
# HOSTS=N: each API process (N of them) and each worker a host of its own, in a network
# namespace on a bridge (root; docs/SCALING.md "Several hosts").
CLUSTER_ARGS ?=
HOSTS ?=
cluster: $(INSTALLED)
	command -v haproxy >/dev/null && command -v pgbouncer >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq haproxy pgbouncer)
	$(BIN)/minitwitter-cluster production.ini $(if $(HOSTS),--hosts $(HOSTS)) $(CLUSTER_ARGS)

test: $(INSTALLED)
	$(BIN)/pytest -q tests

# A backup of the database DATABASE_URL names (the primary), media included when
# media.store = postgres (docs/SCALING.md); `make restore` puts one back, replacing what is
# there. tests/test_backup.py backs up, wipes, restores and reads an image back.
BACKUP ?= minitwitter.dump
backup:
	pg_dump --format=custom --no-owner --file "$(BACKUP)" "$$DATABASE_URL"

restore:
	pg_restore --clean --if-exists --no-owner --exit-on-error --dbname "$$DATABASE_URL" "$(BACKUP)"

lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(INSTALLED)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrate: $(INSTALLED)
	$(BIN)/minitwitter-dev-migrate $(INI)

$(BENCH_INSTALLED): $(INSTALLED) tools/pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,test]' -e 'tools[bench]'
	touch $(BENCH_INSTALLED)

# D1 into the ini's database (DATABASE_URL); add --force to replace existing data.
populate: $(INSTALLED)
	$(BIN)/minitwitter-populate $(INI) $(POPULATE_ARGS)

# docs/BENCH.md's table on the local minitwitter_bench database: bench/results/<date>.{json,md,png}.
# BENCH_ARGS="--dataset d3": D3 in minitwitter_bench_d3 (loaded first when empty), <date>-d3.* and -growth.png.
bench: $(BENCH_INSTALLED)
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/minitwitter-bench production.ini $(BENCH_ARGS)

# Fault scenarios against the real service (private Redis, PostgreSQL cluster, Celery,
# SMTP): bench/results/faults-<date>.{md,json}; non-zero when a requirement fails.
FAULTS_ARGS ?=
faults: $(INSTALLED)
	$(BIN)/minitwitter-faults production.ini $(FAULTS_ARGS)

# Faults on the topology of `make cluster` (replica, an API process, PgBouncer; a Redis
# Cluster master with --redis cluster; RabbitMQ last with --rabbitmq-restart):
# bench/results/cluster-faults-<date>.{md,json}; non-zero when a requirement fails.
CLUSTER_FAULTS_ARGS ?=
cluster-faults: $(INSTALLED)
	command -v haproxy >/dev/null && command -v pgbouncer >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq haproxy pgbouncer)
	$(BIN)/minitwitter-cluster-faults production.ini $(if $(HOSTS),--hosts $(HOSTS)) $(CLUSTER_FAULTS_ARGS)

# 32 writers for 30 s over shared hashtags and mutual follows against `pserve production.ini`
# (port 6610, database minitwitter_stress): errors, retries, exact counts afterwards;
# bench/results/stress-<date>.md. STRESS_ARGS="--writers 16 --seconds 10" for another run.
STRESS_ARGS ?=
stress: $(INSTALLED)
	$(BIN)/minitwitter-stress production.ini $(STRESS_ARGS)

# A post by an author with 100,000 followers (database minitwitter_fanout, port 6650): the
# request's time and the time until the followers' feeds show it;
# bench/results/fanout-<date>-<label>.md. FANOUT_ARGS="--followers 10000 --label small".
FANOUT_ARGS ?=
fanout: $(INSTALLED)
	$(BIN)/minitwitter-fanout production.ini $(FANOUT_ARGS)

clean:
	rm -rf $(VENV) var *.egg-info tools/*.egg-info build tools/build tests/js/node_modules
