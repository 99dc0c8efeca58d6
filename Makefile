# Jixiao — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
VENDOR := app/static/vendor
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint typecheck install install-dev vendor translations db bench load clean

run: install vendor translations db  ## serve on http://127.0.0.1:5000 with the scheduler
	$(FLASK) serve

test: install-dev vendor translations  ## ruff + the whole suite on SQLite (and PostgreSQL if TEST_DATABASE_URL)
	$(BIN)/ruff check app forms config tests
	$(BIN)/mypy app forms config
	$(BIN)/pytest -q -p no:cacheprovider
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  echo "== the same suite on PostgreSQL: $$TEST_DATABASE_URL"; \
	  $(BIN)/pytest -q -p no:cacheprovider -m "not browser"; \
	fi

typecheck: install-dev
	$(BIN)/mypy app forms config

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install -q -e ".[dev]"
	@touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(VENDOR)/.stamp: node_modules/.package-lock.json Makefile
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bootstrap $(VENDOR)/bootstrap-icons $(VENDOR)/htmx $(VENDOR)/bpmn-js $(VENDOR)/echarts
	cp node_modules/bootstrap/dist/css/bootstrap.min.css node_modules/bootstrap/dist/js/bootstrap.bundle.min.js $(VENDOR)/bootstrap/
	cp -r node_modules/bootstrap-icons/font/bootstrap-icons.min.css node_modules/bootstrap-icons/font/fonts $(VENDOR)/bootstrap-icons/
	cp node_modules/htmx.org/dist/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js node_modules/bpmn-js/dist/bpmn-modeler.production.min.js $(VENDOR)/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets $(VENDOR)/bpmn-js/
	cp node_modules/echarts/dist/echarts.min.js $(VENDOR)/echarts/
	@touch $@

vendor: $(VENDOR)/.stamp  ## front-end libraries from the npm lock file, served locally

translations: install  ## compile the zh_CN and en catalogues
	@$(BIN)/pybabel -q compile -d app/translations

db: install translations  ## migrate the embedded database; load the demo district when it is empty
	@mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo --if-empty --with-work

messages: install  ## re-extract UI strings into the catalogues (then translate zh_CN)
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext -k T_ -o app/translations/messages.pot .
	$(BIN)/pybabel -q update -i app/translations/messages.pot -d app/translations

bench: install-dev  ## benchmarks (not part of `make test`)
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

LOAD_STAFF ?= 10000
LOAD_USERS ?= 300
LOAD_TIME ?= 10m
load: install-dev  ## HTTP load test: gunicorn on 127.0.0.1:8077 and locust, bounded by LOAD_TIME
	$(BIN)/pip install -q -e ".[bench]"
	rm -f instance/load.db* && mkdir -p instance
	JIXIAO_DATABASE_URL=sqlite:///$(CURDIR)/instance/load.db $(BIN)/python -m tests.bench.prepare_load --staff $(LOAD_STAFF)
	JIXIAO_DATABASE_URL=sqlite:///$(CURDIR)/instance/load.db JIXIAO_SCHEDULER_ENABLED=false \
	  $(BIN)/gunicorn -w 4 -b 127.0.0.1:8077 --pid instance/load.pid --daemon 'app:create_app()'
	sleep 3
	LOAD_STAFF=$(LOAD_STAFF) $(BIN)/locust -f tests/bench/locustfile.py --headless -u $(LOAD_USERS) -r 10 \
	  -t $(LOAD_TIME) --host http://127.0.0.1:8077 --only-summary; status=$$?; kill $$(cat instance/load.pid); exit $$status

clean:
	rm -rf $(VENV) node_modules $(VENDOR) instance
