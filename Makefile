# Kho: two commands on a fresh machine.
#   make demo   create the environment, cache the Spark jars, generate the sources, run the pipeline
#   make test   the same set-up, then the unit, integration (real PostgreSQL/MariaDB) and e2e tests
# Everything installs from this repository's files: requirements.lock (pinned, resolved by uv).

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
UV_VERSION := 0.13.8
SF     ?= 0.2
PYTEST_ARGS ?=

.PHONY: install jars demo test test-cluster-city test-unit servers servers-stop bench clean help cluster-up cluster-down

help:
	@echo "make demo    - set up and run the whole pipeline on the embedded profile (SF=$(SF))"
	@echo "make test    - set up and run all tests (starts local PostgreSQL and MariaDB)"
	@echo "make test-cluster-city - the whole city on the cluster profile vs embedded (~40 min)"
	@echo "make bench   - benchmarks (JSON on stdout)"
	@echo "make clean   - remove generated data (lake, .kho), keep the environment"

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed: install python3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

jars: install
	$(BIN)/kho setup jars

demo: jars
	$(BIN)/kho demo --sf $(SF)

servers:
	bash infra/local/servers.sh start

servers-stop:
	bash infra/local/servers.sh stop

test: jars
	bash infra/local/servers.sh start
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; bash infra/local/servers.sh stop; exit $$rc

# The whole city on the cluster profile (MinIO, Spark standalone, Airflow on PostgreSQL,
# the sector databases on PostgreSQL and MariaDB) against the embedded run: ~40 min on 2 cores,
# so outside `make test`'s budget.
test-cluster-city: jars
	bash infra/local/servers.sh start
	$(BIN)/python -m pytest -m cluster_city tests/marts/test_city_on_the_cluster.py $(PYTEST_ARGS); rc=$$?; bash infra/local/servers.sh stop; exit $$rc

test-unit: install
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

bench: jars
	$(BIN)/python bench/pipeline.py --sf 1

clean:
	rm -rf lake/raw lake/processed lake/integrated lake/topic lake/quarantine lake/_system lake/_serving .kho

# The cluster profile's servers on loopback (MinIO, Spark standalone, Airflow on PostgreSQL).
cluster-up: install
	bash infra/local/cluster.sh start

cluster-down:
	bash infra/local/cluster.sh stop
