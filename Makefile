# The commands a newcomer needs.
.PHONY: install test lint format catalog

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
