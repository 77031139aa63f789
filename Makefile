# The two commands: `make run` serves the portal, `make test` runs the tests.
# Each installs what it needs on a fresh Debian machine (as root).
.PHONY: run test bench lint

run:
	ops/run.sh

test:
	WITH_BROWSER=1 ops/bootstrap.sh
	.venv/bin/python -m pytest

bench:
	ops/bootstrap.sh
	ops/bench.sh $(ARGS)

lint:
	.venv/bin/ruff check .
