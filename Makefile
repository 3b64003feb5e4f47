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

system-deps:
	@missing=""; \
	command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing="$$missing mosquitto mosquitto-clients"; \
	command -v systemd-analyze >/dev/null || missing="$$missing systemd"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

# --- the two commands -------------------------------------------------------------------
run: $(VENV)/.base
	$(BIN)/digitcam run --config $(RUN_CONFIG)

# The long drills (30 s broker outage, 10-minute soak) run in `make drill` only.
test: system-deps $(VENV)/.dev
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
	$(BIN)/mypy edge

# --- the device ---------------------------------------------------------------------------
install:
	$(SUDO) ./systemd/install.sh

uninstall:
	$(SUDO) ./systemd/uninstall.sh $(if $(PURGE),--purge)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
