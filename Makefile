# The commands a newcomer needs.
.PHONY: install test lint format catalog lock

install:            ## editable install with the test tools
	pip install -e '.[test]'

test:               ## the whole suite (what CI runs)
	python -m pytest

lint:               ## ruff and mypy
	ruff check . && ruff format --check . && mypy

format:
	ruff format . && ruff check --fix .

catalog:            ## build the embedded catalog and show its coverage
	advisor catalog info

lock:               ## re-pin the test environment (requirements-test.lock) from pyproject.toml
	{ echo "# Pins of '.[test]'; regenerate with 'make lock'; install with 'pip install -r requirements-test.lock -e .'"; \
	  pip-compile --quiet --extra test --strip-extras --no-header --no-emit-index-url --no-emit-find-links --output-file - pyproject.toml; } > requirements-test.lock
