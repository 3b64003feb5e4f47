"""`digitcam VERB ...`: one command with the verbs users remember.

The training verbs live in the `train` extra; they are looked up by module name only when
asked for, so a device install (no torch) runs every other verb.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from edge import logfilter
from edge.config import CONFIG_ERROR_EXIT, ConfigError, Settings
from edge.config_load import load_settings, masked_dump

logger = logging.getLogger(__name__)

# 128 + SIGPIPE: the status a shell shows for a tool whose reader left (`set -o pipefail`).
SIGPIPE_EXIT = 141
TRAIN_VERBS = {
    "train": ("training.train", "train the CNN on MNIST"),
    "evaluate": (
        "training.evaluate",
        "accuracy, confusion matrix, calibration error and not-a-digit figures of a model",
    ),
    "export": ("export.onnx_export", "write a checkpoint as a self-describing ONNX model"),
}
TRAIN_EXTRA_HINT = (
    "digitcam {verb}: needs the training extra; install it with "
    "`pip install 'digitcam[train]'` (or `make train` in a clone)"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="digitcam", description="Read digits from a camera.")
    parser.add_argument("--version", action="version", version=_version())
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    run = verbs.add_parser("run", help="the daemon: capture, read, publish")
    _config_flag(run)
    run.add_argument(
        "--once",
        action="store_true",
        help="process the source until it is exhausted, flush MQTT, exit 0",
    )
    run.add_argument("--source", help="override camera.source")

    predict = verbs.add_parser("predict", help="read digits in image files or folders")
    _config_flag(predict)
    predict.add_argument(
        "--kind",
        choices=["number", "digit", "counter", "display"],
        help="number: every handwritten digit left to right; digit: the most prominent one; "
        "counter: meter wheels; display: 7-segment or dot-matrix LCD digits",
    )
    predict.add_argument(
        "--digits",
        type=int,
        metavar="N",
        help="counter, display: the image holds N digits side by side (default 1); "
        "number: the number has N digits, another count read is low_confidence (default any)",
    )
    predict.add_argument("--json", action="store_true", help="one JSON reading per line")
    predict.add_argument("paths", nargs="+", type=Path, metavar="PATH")

    check = verbs.add_parser("check-config", help="validate and print the configuration")
    _config_flag(check)

    serve = verbs.add_parser("serve", help="the HTTP API and page alone, no capture loop")
    _config_flag(serve)

    from edge.capture_cli import add_parser as add_capture_parser
    from edge.labels_cli import add_parser as add_labels_parser
    from edge.model_cli import add_parser as add_model_parser

    add_model_parser(verbs)
    add_labels_parser(verbs)
    add_capture_parser(verbs)

    # The benchmark parses its own options (digitcam bench --help lists them).
    bench = verbs.add_parser("bench", help="measure speed, memory and accuracy", add_help=False)
    _config_flag(bench)

    for verb, (_, help_text) in TRAIN_VERBS.items():
        sub = verbs.add_parser(verb, help=help_text, add_help=False)
        sub.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _config_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        help="TOML file (default $DIGITCAM_CONFIG, "
        "else /etc/digitcam/digitcam.toml when it exists)",
    )


def _version() -> str:
    from edge import __version__

    return f"digitcam {__version__}"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TRAIN_VERBS:
        return run_train_verb(argv[0], argv[1:])
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.verb != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        code = dispatch(args)
        sys.stdout.flush()  # a reader that left shows here, not in the interpreter's shutdown
        return code
    except BrokenPipeError:
        return reader_left()
    except ConfigError as exc:
        print("configuration error:", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return CONFIG_ERROR_EXIT
    except KeyboardInterrupt:
        return 130


def dispatch(args: argparse.Namespace) -> int:
    if args.verb == "check-config":
        return check_config(load_settings(args.config))
    if args.verb == "predict":
        from edge.predict import EXIT_USAGE, predict_paths

        if args.digits is not None and (
            args.kind not in ("number", "counter", "display") or not 1 <= args.digits <= 16
        ):
            print(
                "digitcam predict: --digits N (1-16) goes with --kind number, counter or display",
                file=sys.stderr,
            )
            return EXIT_USAGE
        settings = load_settings(args.config)
        setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
        return predict_paths(
            settings, args.paths, kind=args.kind, digits=args.digits, as_json=args.json
        )
    if args.verb == "run":
        overrides: dict[str, Any] = {"camera": {"source": args.source}} if args.source else {}
        settings = load_settings(args.config, overrides)
        setup_logging(settings.log_level)
        from edge.daemon import run_daemon

        return run_daemon(settings, once=args.once)
    if args.verb == "serve":
        settings = load_settings(args.config)
        setup_logging(settings.log_level)
        from edge.api import ApiError, require_api_extra

        try:
            require_api_extra()
        except ApiError as exc:
            print(f"digitcam serve: {exc}", file=sys.stderr)
            return 2
        from edge.api.server import serve

        return serve(settings)
    if args.verb == "labels":
        from edge.labels_cli import main as labels_main

        settings = load_settings(args.config)
        setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
        return labels_main(settings, args)
    if args.verb == "model":
        from edge.model_cli import main as model_main

        settings = load_settings(args.config)
        setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
        return model_main(settings, args)
    if args.verb == "capture":
        from edge.capture_cli import main as capture_main

        settings = load_settings(args.config)
        setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING")
        return capture_main(settings, args)
    if args.verb == "bench":
        from edge.bench.cli import main as bench_main

        return bench_main(load_settings(args.config), args.extra)
    raise AssertionError(args.verb)


def reader_left() -> int:
    """stdout's reader went away (`digitcam predict ... | head`): stop quietly, as cat does."""
    # Python flushes stdout once more at exit; /dev/null takes what is left without an error.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return SIGPIPE_EXIT


def check_config(settings: Settings) -> int:
    from edge.meter.printed import printed_models
    from edge.model import ModelError
    from edge.model_install import load_active
    from edge.rows_model import rows_for
    from edge.runs_model import runs_for

    try:  # a model file that loads but is not a digit model is a configuration error too
        load_active(settings)
        printed_models(settings.model, (r.kind for r in settings.regions))
        runs_for(settings.model, settings.regions)
        rows_for(settings.model, settings.regions)
    except ModelError as exc:
        raise ConfigError([str(exc)]) from None
    print(json.dumps(masked_dump(settings), indent=2, default=str))
    return 0


def run_train_verb(verb: str, argv: list[str]) -> int:
    if importlib.util.find_spec("torch") is None:
        print(TRAIN_EXTRA_HINT.format(verb=verb), file=sys.stderr)
        return 2
    module = importlib.import_module(TRAIN_VERBS[verb][0])
    return int(module.main(argv) or 0)


def setup_logging(level: str) -> None:
    """One line per event; journald adds its own timestamp, a terminal gets one."""
    under_journald = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not under_journald:
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=level, format=fmt, stream=sys.stderr, force=True)
    logfilter.install()  # a fault repeating many times a second must not flood the journal


if __name__ == "__main__":
    raise SystemExit(main())
