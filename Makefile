# The two commands of the README: `make demo` (set up and run) and `make test`.
PY := .venv/bin/python
export RESTOREBENCH_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/restorebench
export RESTOREBENCH_TEST_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//

.PHONY: setup demo test lint bench

setup:
	./scripts/bootstrap.sh

demo: setup
	$(PY) manage.py demo

test: setup
	./scripts/services.sh
	./scripts/browser.sh
	$(PY) -m pytest

lint: setup
	$(PY) -m ruff check .
