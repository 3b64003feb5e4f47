# DigitCam: `make run` and `make test` do all set-up on a fresh Debian / Raspberry Pi OS.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The CPU build of torch: the default PyPI build pulls several GB of CUDA libraries.
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_VERSION := 2.13.0
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DATA_DIR ?= $(if $(wildcard ../shared/data/mnist/*.gz),../shared/data/mnist,data/mnist)
RUN_CONFIG ?= config/demo.toml
PYTEST_ARGS ?=
# Home Assistant for the client tests (tests/clients), in a venv of its own: it pins
# paho-mqtt 1.6 and older libraries than ours. It needs Python 3.11 or 3.12.
HA_VENV := .venv-ha
HA_PYTHON ?= python3.11
# promtool alone, taken out of Debian's prometheus package (whose server is not installed).
PROMTOOL := build/tools/promtool

.PHONY: run test train export evaluate report bench lint drill install uninstall clean system-deps help

help:
	@echo "make run     - install and run the daemon on the bundled model and mock frames"
	@echo "make test    - install what the tests need (Mosquitto included) and run them all"
	@echo "make train   - train the CNN on MNIST (DATA_DIR=$(DATA_DIR))"
	@echo "make export  - export artifacts/mnist-cnn.pt to ONNX with an int8 comparison"
	@echo "make report  - accuracy on the report frames (never tuned on) beside the tuning frames"
	@echo "make bench   - speed, memory and accuracy benchmark"
	@echo "make drill   - fault drills: broker/daemon crashes, camera loss, hostile files, 10-min soak"
	@echo "make lint    - ruff (lint and format check) and mypy"
	@echo "make install - install the systemd service on this device (sudo)"

# --- environments -----------------------------------------------------------------------
$(BIN)/python:
	@$(PYTHON) -c "import ensurepip, venv" 2>/dev/null || { \
	  echo "installing python3-venv (Debian)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv python3-pip; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel

# Device install: what the daemon needs and nothing more (no torch).
$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	@touch $@

# Everything the tests exercise: training (CPU torch), export, API, test tools.
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	@$(BIN)/python -c "import torch" 2>/dev/null || \
	  $(BIN)/pip install -q --retries 1 "torch==$(TORCH_VERSION)" --extra-index-url $(TORCH_INDEX)
	$(BIN)/pip install -q -e ".[train,api,dev]"
	@touch $@ $(VENV)/.base

# Home Assistant's own package_constraints.txt pins what it depends on, as its installs do;
# without it pip drifts to newer releases and may compile them. ($(BIN)/python first: it
# installs python3-venv when missing.) Tests that find no Home Assistant skip and say why.
$(HA_VENV)/.done: tests/clients/ha-requirements.txt | $(BIN)/python
	@rm -rf $(HA_VENV) && mkdir -p $(HA_VENV); \
	echo "installing Home Assistant into $(HA_VENV) for the client tests (about a minute)"; \
	pip="$(HA_VENV)/bin/pip install -q --retries 1"; \
	if { $(HA_PYTHON) -m venv $(HA_VENV) && \
	     $$pip --no-deps "$$(grep '^homeassistant==' $<)" && \
	     $$pip -r $< -c $(HA_VENV)/lib/python3*/site-packages/homeassistant/package_constraints.txt; \
	   } >$(HA_VENV)/install.log 2>&1; then \
	  touch $@; \
	else \
	  echo "Home Assistant could not be installed; its tests will skip (see $(HA_VENV)/install.log)"; \
	fi

# Debian packages the tests use (fonts-dseg: the 7-segment fonts the printed-digit model's
# display renders use; tests/training/test_sevenseg.py draws with them); promtool comes without the Prometheus server and its
# service (the prometheus package would start one on port 9090).
system-deps:
	@missing=""; \
	command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto mosquitto-clients"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -d /usr/share/fonts/truetype/dseg ] || missing="$$missing fonts-dseg"; \
	command -v promtool >/dev/null || [ -x $(PROMTOOL) ] || need_promtool=1; \
	if [ -n "$$missing$$need_promtool" ]; then $(SUDO) apt-get update -qq; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi; \
	if [ -n "$$need_promtool" ]; then \
	  echo "extracting promtool from Debian's prometheus package into $(PROMTOOL)"; \
	  tmp=$$(mktemp -d) && (cd $$tmp && apt-get download -qq prometheus) && \
	  mkdir -p $(dir $(PROMTOOL)) && \
	  dpkg-deb --fsys-tarfile $$tmp/prometheus_*.deb | tar -xO ./usr/bin/promtool >$(PROMTOOL).part && \
	  chmod +x $(PROMTOOL).part && mv $(PROMTOOL).part $(PROMTOOL); \
	  status=$$?; rm -rf $$tmp; exit $$status; \
	fi

# --- the two commands -------------------------------------------------------------------
run: $(VENV)/.base
	$(BIN)/digitcam run --config $(RUN_CONFIG)

# The long drills (30 s broker outage, 10-minute soak) run in `make drill` only.
test: system-deps $(VENV)/.dev $(HA_VENV)/.done
	$(BIN)/python -m pytest -m "not slow_drill" $(PYTEST_ARGS)

drill: system-deps $(VENV)/.dev
	$(BIN)/python -m pytest tests/drills $(PYTEST_ARGS)

# --- model work -------------------------------------------------------------------------
train: $(VENV)/.dev
	$(BIN)/digitcam train --data-dir $(DATA_DIR) --out artifacts/mnist-cnn.pt

export: $(VENV)/.dev
	$(BIN)/digitcam export artifacts/mnist-cnn.pt --data-dir $(DATA_DIR) \
	  --out artifacts/mnist-cnn.onnx --int8

evaluate: $(VENV)/.dev
	$(BIN)/digitcam evaluate edge/models/mnist-cnn.onnx --data-dir $(DATA_DIR) \
	  --plot artifacts/confusion.png

report: $(VENV)/.dev
	$(BIN)/python mock_frames/report.py --set both --data-dir $(DATA_DIR) --json artifacts/report.json

bench: $(VENV)/.dev
	$(BIN)/digitcam bench

lint: $(VENV)/.dev
	$(BIN)/pip install -q ruff mypy
	$(BIN)/ruff check edge training export tests mock_frames
	$(BIN)/ruff format --check edge training export tests mock_frames
	$(BIN)/mypy edge training export

# --- the device ---------------------------------------------------------------------------
install:
	$(SUDO) ./systemd/install.sh

uninstall:
	$(SUDO) ./systemd/uninstall.sh $(if $(PURGE),--purge)

clean:
	rm -rf $(VENV) $(HA_VENV) build *.egg-info .pytest_cache
