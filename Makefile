# MarketPass — `make run` serves the site with the bundled data; `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: run test bench install translations compile-translations lint serve snapshot clean

run: install compile-translations snapshot
	$(BIN)/marketpass serve --port $(PORT)

test: install compile-translations
	$(BIN)/pytest

# `make bench SCALE=1000000` runs the scale benchmark alone (bench/scale.py) at that size.
bench: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
ifneq ($(SCALE),)
	$(BIN)/python -m bench.scale --records $(SCALE)
else
	$(BIN)/python -m bench.run
	$(BIN)/python -m bench.crawl
	$(BIN)/python -m bench.notifications
	$(BIN)/python -m bench.match
	$(BIN)/python -m bench.load
	$(BIN)/python -m bench.alerts
	$(BIN)/python -m bench.relevance
	$(BIN)/python -m bench.store
	$(BIN)/python -m bench.peer
endif

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Load the bundled snapshot (recorded responses of every source) on first start.
snapshot: install
	$(BIN)/marketpass load-snapshot --if-empty

# The pybabel round trip: extract marked strings, update every catalogue, compile.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		-c TRANSLATORS: --sort-by-file --no-wrap --project MarketPass --version 0.1.0 \
		-o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-wrap --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d translations

compile-translations: install
	$(BIN)/pybabel -q compile -d translations

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf var/ .pytest_cache
