# Two commands for a new user: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: run test check bench install lock messages mutation clean

# requirements.lock pins every package, direct and indirect (CareDesk's ranges are in pyproject.toml). It is
# used as constraints: `make run` installs CareDesk and what it needs to run, `make test` adds the test tools,
# both at exactly the locked versions.
$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "CareDesk needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet -c requirements.lock -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	@touch $(TEST_STAMP)

install: $(STAMP)

run: $(STAMP)
	@mkdir -p var
	$(BIN)/caredesk db upgrade
	$(BIN)/caredesk demo
	CAREDESK_MAIL_DIR=var/mail $(BIN)/caredesk serve --host 127.0.0.1 --port 8000

# The gates: lint, the import boundaries (.importlinter), types (strict; [tool.mypy] in pyproject.toml).
check: $(TEST_STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports
	$(BIN)/mypy

# One worker per core; an idle worker takes tests from a busy one (the browser and training files are long).
PYTEST_ARGS ?= -n auto --dist worksteal

test: check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m caredesk.bench

# After changing a range in pyproject.toml: re-pin everything, then commit requirements.lock.
lock: $(TEST_STAMP)
	$(BIN)/pip install --quiet pip-tools==7.7.0
	$(BIN)/pip-compile --quiet --extra test --strip-extras --no-emit-index-url --no-emit-find-links \
		--annotation-style=line -o requirements.lock pyproject.toml

# The web UI's catalogs (src/caredesk/web/locale/*/LC_MESSAGES/messages.po): extract every message key from the
# templates and the code (babel.cfg), then add new keys to each catalog with an empty translation and drop the
# keys nobody uses. Fill the empty msgstr lines; tests/unit/test_catalogs.py fails until every key is translated.
LOCALE := src/caredesk/web/locale
KEYWORDS := -k t -k rt -k N_ -k tn:1,1 -k plural:1,1

messages: $(STAMP)
	$(BIN)/pybabel --quiet extract -F babel.cfg --no-default-keywords $(KEYWORDS) --no-location --sort-output \
		--width 120 --project CareDesk -o $(LOCALE)/messages.pot .
	$(BIN)/pybabel --quiet update -i $(LOCALE)/messages.pot -d $(LOCALE) --ignore-obsolete --no-fuzzy-matching \
		--width 120
	@rm $(LOCALE)/messages.pot

# Mutation testing of the pure rule modules with their unit tests ([tool.mutmut] in pyproject.toml; mutmut is
# installed here on demand, pinned, and is no dependency of CareDesk). Works in ./mutants; prints killed/total.
MUTMUT_VERSION := 3.8.1

mutation: $(STAMP)
	@$(BIN)/pip show mutmut 2>/dev/null | grep -qx 'Version: $(MUTMUT_VERSION)' || $(BIN)/pip install --quiet mutmut==$(MUTMUT_VERSION)
	$(BIN)/mutmut run >/dev/null
	@$(BIN)/mutmut results --all true | $(BIN)/python tests/mutation_report.py

clean:
	rm -rf mutants $(VENV) var .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
