# Two commands: `make run` (install, start PostGIS, load the sample, serve) and `make test`.
# Works on a fresh Debian 12 machine as root or as a user with sudo.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
REGISTRY := $(VENV)/bin/registry
PORT ?= 5000
export PORT

RUN_DEBS := postgresql-15 postgresql-15-postgis-3 gdal-bin
TEST_DEBS := $(RUN_DEBS) chromium chromium-driver fonts-noto-cjk
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test system-deps test-system-deps venv db sample serve stop lint translations clean bench

run: system-deps venv db sample serve

test: test-system-deps venv
	$(PY) -m pytest -q $(PYTEST_ARGS)

# --- system packages (apt), installed only when missing --------------------------------------
system-deps:
	@$(call apt_install,$(RUN_DEBS))

test-system-deps:
	@$(call apt_install,$(TEST_DEBS))

define apt_install
missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; done; \
if [ -n "$$missing" ]; then \
  echo "installing Debian packages:$$missing"; \
  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
else echo "Debian packages present: $(1)"; fi
endef

# --- Python virtualenv -------------------------------------------------------------------------
venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q -e ".[test]"
	touch $@

# --- database and app --------------------------------------------------------------------------
db: venv
	$(REGISTRY) db init

sample: db
	$(REGISTRY) load-sample

serve: venv
	$(REGISTRY) serve --port $(PORT)

stop:
	$(REGISTRY) db stop

lint: venv
	$(PY) -m ruff check registry maps tests bench scripts || true

translations: venv  ## re-extract messages, merge into the zh catalogue, compile
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -o registry/translations/messages.pot .
	$(VENV)/bin/pybabel update -i registry/translations/messages.pot -d registry/translations
	$(VENV)/bin/pybabel compile -d registry/translations

bench: venv
	@echo "see docs/BENCHMARKS.md for each benchmark's command"

clean:
	-$(REGISTRY) db stop
	rm -rf var .pytest_cache test-artifacts
