# The two commands: `make run` serves the portal, `make test` runs the tests.
# Each installs what it needs on a fresh Debian machine (as root).
.PHONY: run test bench lint cluster drill

run:
	ops/run.sh

test:
	WITH_BROWSER=1 WITH_NGINX=1 ops/bootstrap.sh
	.venv/bin/python -m pytest

bench:
	ops/bootstrap.sh
	ops/bench.sh $(ARGS)

# The production topology on this machine (nginx, two web nodes, two workers, the
# object store, PostgreSQL, Redis) until Ctrl-C; the drill fails parts of it
# under load and checks nothing was lost. Neither is part of `make test`.
# `make drill ARGS=failover`: the primary of a replicated database (CLUSTER_DATABASE=patroni) is lost
# under load instead; every acknowledged petition is looked up on the new primary.
cluster:
	ops/cluster.sh

drill:
	ops/drill.sh $(ARGS)

lint:
	.venv/bin/ruff check .
