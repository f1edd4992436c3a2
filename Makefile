# Two commands: `make run` (set up, serve the embedded demo, check it) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DEMO_PORT := 8735

.PHONY: run test install lint typecheck check bench bench-peers bench-scaling bench-shapes bench-carriers clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# byte-compiled as a wheel install would be (an editable install is not, and with
	@# PYTHONDONTWRITEBYTECODE set every run would compile the package from source)
	$(BIN)/python -m compileall -q linkcheck
	touch $(STAMP)

install: $(STAMP)

# Serve the demo guide on loopback, run `linkcheck run` with ./config.toml against it, stop
# the server. Dead links in the demo are the expected outcome: exit code 1 is not a failure.
run: $(STAMP)
	@$(BIN)/linkcheck serve-demo --port $(DEMO_PORT) >/dev/null & server=$$!; \
	trap 'kill $$server 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python -c "import socket, time, sys; \
	deadline = time.monotonic() + 15; \
	exec('while time.monotonic() < deadline:\n try:\n  socket.create_connection((\"127.0.0.1\", $(DEMO_PORT)), 0.5).close(); sys.exit(0)\n except OSError: time.sleep(0.1)'); \
	sys.exit('the demo server did not start on port $(DEMO_PORT)')" || exit 2; \
	$(BIN)/linkcheck run; status=$$?; \
	if [ $$status -le 1 ]; then echo "Open reports/report.html to see the editors' report."; fi; \
	[ $$status -le 1 ]

test: $(STAMP)
	@sh scripts/install-browser.sh
	@sh scripts/install-redis.sh
	$(BIN)/python -m pytest -q -n auto

lint: $(STAMP)
	$(BIN)/ruff check linkcheck tests bench
	$(BIN)/ruff format --check linkcheck tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

bench: $(STAMP)
	$(BIN)/python bench/run_bench.py

# linkcheck side by side with LinkChecker, linkinator, broken-link-checker, wget2 and lychee
# (installed into bench/.peers/, never into linkcheck's dependencies); ~6 minutes.
bench-peers: $(STAMP)
	bash bench/setup_peers.sh
	$(BIN)/python bench/peers.py

bench-scaling: $(STAMP)
	$(BIN)/python bench/peers.py --scaling 1000,10000,50000

# every tool on every site shape (guide, docs, blog, assets, large; and 50k pages of linkcheck
# and lychee for memory) at concurrency 10 and 32, medians of 5 interleaved rounds
# (bench/README.md, "Site shapes"); hours, most of them LinkChecker's and linkinator's.
bench-shapes: $(STAMP)
	bash bench/setup_peers.sh
	$(BIN)/python bench/peers.py --shapes guide,docs,blog,assets,large

# linkcheck, lychee and LinkChecker against slow and lying carrier servers on loopback, the
# same timeout for each (bench/README.md, "Carriers: slow and lying servers"); ~1.5 minutes.
bench-carriers: $(STAMP)
	bash bench/setup_peers.sh
	$(BIN)/python bench/carriers.py

clean:
	rm -rf $(VENV) reports/*.html reports/*.json .pytest_cache .mypy_cache .ruff_cache
