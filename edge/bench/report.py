"""The targets of `digitcam bench` and the table it prints, both from the result document."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

STAGES = (
    ("decode", "decode JPEG bytes (OpenCV)"),
    ("find_digits", "find digits"),
    ("normalise", "normalise to 28x28"),
    ("inference", "inference (all digits, ONNX)"),
    ("frame", "whole frame: decode + read"),
    ("outbox", "publish to outbox (Store.record)"),
    ("frame_outbox", "whole frame + outbox"),
)
OUR_STAGES = ("decode", "find_digits", "normalise", "inference")


def _target(name: str, passed: bool | None, value: str, held_back_by: str | None) -> dict[str, Any]:
    result = "SKIP" if passed is None else "PASS" if passed else "MISS"
    return {
        "target": name,
        "value": value,
        "result": result,
        "held_back_by": held_back_by if result == "MISS" else None,
    }


def _slowest(stages: dict[str, dict[str, float]]) -> str:
    name = max(OUR_STAGES, key=lambda k: stages[k]["median"])
    return f"{name.replace('_', ' ')} ({stages[name]['median']:.2f} ms median)"


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with PASS, MISS (and the stage holding it back) or SKIP."""
    stages, inference = r["stages_ms"], r["inference_ms"]
    onnx_ms = inference["batch1_per_digit"]["median"]
    batch8_ms = inference["batch8_per_digit"]["median"]
    frame_ms = stages["frame"]["median"]
    base, daemon = r["baseline"], r["daemon"]
    out = [
        _target(
            "inference per digit < 0.1 ms (batch 1, median)",
            onnx_ms < 0.1,
            f"{onnx_ms:.3f} ms",
            f"the onnxruntime call itself (batch 8: {batch8_ms:.3f} ms per digit)",
        )
    ]
    if base.get("available"):
        eager_ms = base["inference_per_digit_ms"]["median"]
        naive_ms = base["frame_ms"]["frame"]["median"]
        out.append(
            _target(
                ">= 10x faster inference than PyTorch eager",
                eager_ms >= 10 * onnx_ms,
                f"{eager_ms / onnx_ms:.1f}x",
                f"onnxruntime {onnx_ms:.3f} ms vs eager {eager_ms:.3f} ms per digit",
            )
        )
    else:
        out.append(_target(">= 10x faster inference than PyTorch eager", None, "-", None))
    out.append(
        _target(
            "whole 640x480 frame < 3 ms median",
            frame_ms < 3.0,
            f"{frame_ms:.2f} ms",
            _slowest(stages),
        )
    )
    if base.get("available"):
        naive_stages = base["frame_ms"]
        out.append(
            _target(
                "whole frame no slower than the baseline path",
                frame_ms <= naive_ms,
                f"{frame_ms:.2f} vs {naive_ms:.2f} ms",
                f"{_slowest(stages)}; the baseline's whole-frame resize costs "
                f"{naive_stages['preprocess']['median']:.2f} ms",
            )
        )
    else:
        out.append(_target("whole frame no slower than the baseline path", None, "-", None))
    if "error" in daemon:
        out.append(_target("daemon RSS < 120 MB, no torch", None, "-", None))
        out.append(_target("cold start to first reading < 2 s", None, "-", None))
        return out
    rss = max(daemon["rss_after_mb"], daemon["rss_warm_mb"])
    out.append(
        _target(
            "daemon RSS < 120 MB, no torch",
            rss < 120 and not daemon["torch_loaded"],
            f"{rss:.1f} MB" + (", torch loaded" if daemon["torch_loaded"] else ""),
            "torch is loaded in the daemon"
            if daemon["torch_loaded"]
            else f"{daemon['rss_warm_mb']:.1f} MB after warm-up, "
            f"{daemon['rss_after_mb']:.1f} MB after {daemon['frames']} frames" + _rss_parts(daemon),
        )
    )
    start_s = daemon["cold_start_s"]
    phases = daemon["cold_start_phases"]
    slow_phase = max(phases, key=phases.get) if phases else "unknown"
    out.append(
        _target(
            "cold start to first reading < 2 s",
            start_s is not None and start_s < 2.0,
            f"{start_s:.2f} s" if start_s is not None else "none",
            f"{slow_phase} ({phases.get(slow_phase, 0):.2f} s)",
        )
    )
    return out


def _ms(stat: dict[str, float]) -> str:
    return f"{stat['median']:8.3f} {stat['p95']:8.3f}"


def render(r: dict[str, Any]) -> str:
    """The human-readable table."""
    m, inputs = r["machine"], r["inputs"]
    load_start, load_end = m["load_average"]["start"][0], m["load_average"]["end"][0]
    lines = [
        f"DigitCam benchmark ({r['mode']}), model {r['model']['version']}"
        + "".join(
            f", {name} {r['model'][key]}"
            for key, name in (("row_reader", "row reader"), ("run_reader", "run reader"))
            if r["model"].get(key)
        ),
        (
            f"{m['cpu']}, {m['cores']} cores, {m['arch']}"
            + (f", {m['kernel']}" if m.get("kernel") else "")
            + f"; Python {m['python']}, "
            f"onnxruntime {m['onnxruntime']}, OpenCV {m['opencv']}, numpy {m['numpy']}"
            + (f"; allocator {m['allocator']}" if m.get("allocator") else "")
        ),
        (
            f"load average at start {load_start:.2f}"
            + (
                "  (other work was using the CPU: figures are pessimistic)"
                if load_start >= 0.5
                else " (quiet)"
            )
            + f", at end {load_end:.2f} (the benchmark's own daemon run included)"
        ),
        (
            f"{inputs['camera_frames']} JPEG 640x480 frames from {inputs['frames_dir']} "
            f"({', '.join(f'{k} {v}' for k, v in inputs['frames_by_scenario'].items())}), "
            f"{inputs['digits']} digits; one thread"
        ),
        "",
        f"{'Per frame (ms)':44s} {'median':>8s} {'p95':>8s}",
    ]
    lines += [f"  {label:42s} {_ms(r['stages_ms'][key])}" for key, label in STAGES]
    inf = r["inference_ms"]
    lines += [
        "",
        f"{'Inference alone, ONNX (ms)':44s} {'median':>8s} {'p95':>8s}",
        f"  {'batch 1, per digit':42s} {_ms(inf['batch1_per_digit'])}",
        f"  {'batch 8, per batch':42s} {_ms(inf['batch8_per_batch'])}",
        f"  {'batch 8, per digit':42s} {_ms(inf['batch8_per_digit'])}",
        "",
        "Replay, decode + read, one core          frames      fps",
    ]
    for name, rep in r["replay"].items():
        fps = f"{rep['fps']:8.1f}" if rep.get("fps") else f"  ({rep.get('error')})"
        lines.append(f"  {name:38s} {rep['frames']:8d} {fps}")
    lines += [
        "",
        *_side_by_side(r),
        "",
        *_daemon(r["daemon"]),
        *_daemon_api(r.get("daemon_api")),
        "",
        f"{'Targets':52s} {'value':>18s}  result",
    ]
    for t in r["targets"]:
        lines.append(f"  {t['target']:50s} {t['value']:>18s}  {t['result']}")
        if t["held_back_by"]:
            lines.append(f"      held back by: {t['held_back_by']}")
    return "\n".join(lines)


def _pct(right: int, total: int) -> str:
    return f"{right}/{total} = {100.0 * right / total:.1f} %" if total else "-"


def _side_by_side(r: dict[str, Any]) -> list[str]:
    ours_acc = r["accuracy"]
    ours = (
        sum(a["single_digit_right"] for a in ours_acc.values()),
        sum(a["single_digit_frames"] for a in ours_acc.values()),
    )
    all_right = (
        sum(a["right"] for a in ours_acc.values()),
        sum(a["frames"] for a in ours_acc.values()),
    )
    base = r["baseline"]
    if not base.get("available"):
        return [
            "Side by side with the PyTorch baseline: skipped: " + base["reason"],
            f"  DigitCam single-digit accuracy {_pct(*ours)}; every frame {_pct(*all_right)}",
        ]
    stages, naive = r["stages_ms"], base["frame_ms"]
    naive_acc = (
        sum(a["single_digit_right"] for a in base["accuracy"].values()),
        sum(a["single_digit_frames"] for a in base["accuracy"].values()),
    )
    prep_ours = stages["find_digits"]["median"] + stages["normalise"]["median"]
    eager = base["inference_per_digit_ms"]["median"]
    onnx = r["inference_ms"]["batch1_per_digit"]["median"]
    rows = [
        (
            "decode (median ms)",
            f"{stages['decode']['median']:.3f} OpenCV",
            f"{naive['decode']['median']:.3f} PIL",
        ),
        (
            "preprocess (median ms)",
            f"{prep_ours:.3f} find+normalise",
            f"{naive['preprocess']['median']:.3f} squash frame",
        ),
        ("inference per digit (median ms)", f"{onnx:.3f} ONNX", f"{eager:.3f} torch eager"),
        (
            "whole frame (median ms)",
            f"{stages['frame']['median']:.3f}",
            f"{naive['frame']['median']:.3f}",
        ),
        ("whole frame (p95 ms)", f"{stages['frame']['p95']:.3f}", f"{naive['frame']['p95']:.3f}"),
        ("single-digit accuracy", _pct(*ours), _pct(*naive_acc)),
    ]
    p = base["parity"]
    lines = [
        f"Side by side, same weights ({base['checkpoint']})",
        f"  {'':34s} {'DigitCam':>26s} {'naive PyTorch path':>26s}",
    ]
    lines += [f"  {label:34s} {a:>26s} {b:>26s}" for label, a, b in rows]
    time_ratio = stages["frame"]["median"] / naive["frame"]["median"]
    lines += [
        (
            f"  inference {eager / onnx:.1f}x faster with ONNX; a whole frame takes "
            f"{time_ratio:.2f}x the baseline's time; DigitCam reads every kind of frame "
            f"(blank, multi-digit, refused files too): {_pct(*all_right)}"
        ),
        (
            f"  same weights check: {p['same_prediction']}/{p['digits']} digits agree, "
            f"max probability difference {p['max_prob_diff']:.1e}"
            + ("" if p["same_weights"] else "  WARNING: the ONNX model is NOT this checkpoint")
        ),
    ]
    return lines


def _rss_parts(d: dict[str, Any]) -> str:
    """The RSS after the run split into the daemon's own memory and mapped library files
    ("" for a result written before the split was measured)."""
    if "rss_anon_mb" not in d:
        return ""
    return (
        f" ({d['rss_anon_mb']:.1f} MB the daemon's own memory, RssAnon; {d['rss_file_mb']:.1f} "
        "MB pages of the library files it maps, RssFile: shared, and tens of MB more while "
        "freshly installed files sit in the page cache in large folios)"
    )


def _daemon_api(d: dict[str, Any] | None) -> list[str]:
    """The same daemon serving the HTTP API and page: what api.enabled costs in memory."""
    if d is None:
        return ["  with the API on: not measured (the api extra is not installed)"]
    if "error" in d:
        return [f"  with the API on: {d['error']}"]
    return [
        f"  with the API on (api.enabled): RSS after {d['warmup_frames']} frames "
        f"{d['rss_warm_mb']:.1f} MB, after {d['frames']} frames {d['rss_after_mb']:.1f} MB, "
        f"peak {d['hwm_mb']:.1f} MB, {d['threads']} threads"
    ]


def _daemon(d: dict[str, Any]) -> list[str]:
    if "error" in d:
        return [f"Daemon: {d['error']}", *("  " + line for line in d.get("log", []))]
    phases = ", ".join(f"{k} {v:.2f} s" for k, v in d["cold_start_phases"].items())
    return [
        f"Daemon (digitcam run, MQTT off, replaying in a loop at camera.fps {d['camera_fps']:g})",
        (
            f"  cold start to first reading {d['cold_start_s']:.2f} s "
            f"(median of {len(d['cold_starts_s'])}; {phases})"
        ),
        (
            f"  RSS after {d['warmup_frames']} frames {d['rss_warm_mb']:.1f} MB, after "
            f"{d['frames']} frames {d['rss_after_mb']:.1f} MB{_rss_parts(d)}, peak (VmHWM) "
            f"{d['hwm_mb']:.1f} MB, {d['threads']} threads"
        ),
        (
            f"  torch loaded: {'YES' if d['torch_loaded'] else 'no'}; "
            f"onnxruntime loaded: {'yes' if d['onnxruntime_loaded'] else 'no'}; "
            f"replay rate {d['replay_fps']} frames/s"
        ),
    ]
