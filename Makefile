# CAR T Tracker: `make run` (quick start with demo data), `make test` (the whole suite) and `make lint` (static checks).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test lock bench lint messages

$(STAMP): requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements/dev.txt
	touch $(STAMP)

# Front-end assets come from the npm registry at install time (package-lock.json), never a CDN.
ASSETS := static/vendor/.installed
$(ASSETS): package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/chart.js/dist/chart.umd.min.js node_modules/chart.js/dist/chart.umd.min.js.map static/vendor/
	cp node_modules/luxon/build/global/luxon.min.js node_modules/chartjs-adapter-luxon/dist/chartjs-adapter-luxon.umd.min.js static/vendor/
	touch $(ASSETS)

# Translations: compiled from the committed .po files with Babel (no GNU gettext needed).
MO := locale/es/LC_MESSAGES/django.mo
$(MO): locale/es/LC_MESSAGES/django.po $(STAMP)
	$(VENV)/bin/pybabel compile --domain=django --directory=locale --statistics

install: $(STAMP) $(ASSETS) $(MO)

# Web (http://127.0.0.1:8000), Celery worker and Celery beat in the foreground; Ctrl-C stops all three.
# A developer's `.env` (see .env.example) is read here; the settings read it only when asked.
run: export DJANGO_READ_DOT_ENV_FILE ?= true
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(VENV)/bin/honcho --procfile Procfile.dev start

test: install
	bash scripts/ensure_chromium.sh
	$(PY) scripts/wait_for_services.py
	$(VENV)/bin/pytest

messages: install
	$(PY) scripts/rules_messages.py
	$(PY) manage.py makemessages -l es --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench --ignore=var --no-location

# Style (ruff), the import contracts of pyproject.toml [tool.importlinter] (lint-imports) and types (mypy).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

lock:
	$(PY) -m piptools compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements/base.txt requirements/base.in
	$(PY) -m piptools compile --quiet --generate-hashes --strip-extras --allow-unsafe -o requirements/dev.txt requirements/dev.in

bench: install
	$(PY) bench/run_all.py
