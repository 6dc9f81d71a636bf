# The two commands: `make demo` and `make test` (and `make test-fast`). Each builds .venv from the requirements when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pytest-xdist workers, each test file on one worker (its databases get the worker id): `make test WORKERS=0` runs serially
WORKERS ?= 2
XDIST := $(if $(filter 0,$(WORKERS)),,-n $(WORKERS) --dist loadfile)

.PHONY: demo demo-ui test test-fast bench constraints compose-check clean

$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	bash scripts/bootstrap.sh packages
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m demo

demo-ui: $(STAMP)  # the demo, then the Airflow UI on the same environment (its key lives only there)
	$(PY) -m demo --ui

test: $(STAMP)  # the whole suite: what CI runs
	bash scripts/bootstrap.sh packages
	bash scripts/bootstrap.sh services
	$(PY) -m pytest $(XDIST)

test-fast: $(STAMP)  # the working loop: the unit tier and the integration tier on MariaDB, without the slow tests
	bash scripts/bootstrap.sh services
	$(PY) -m pytest $(XDIST) -m "not slow and not postgres"

bench: $(STAMP)
	$(PY) -m bench.sync_bench
	$(PY) -m bench.delivery_bench
	$(PY) -m bench.claim_bench

constraints:  # after changing requirements*.txt and seeing the suite green
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	(echo "# The full resolved set of requirements.txt + requirements-dev.txt with a green suite (make constraints)."; \
	 $(PY) -m pip freeze --exclude-editable | grep -v '^-e') > constraints.txt

clean:
	rm -rf .airflow .demo .pytest_cache
