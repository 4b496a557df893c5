"""The GPU check in one command (issue 24): correctness on the device, then the throughput
figures the job sizing needs, each part timed and skippable, one JSON and one Markdown summary.

On a GPU machine (torch, numpy, pandas, scipy, scikit-learn, safetensors; nothing else needed):

    PYTHONPATH=src python3 benchmarks/gpu_check.py --out $OUT

On a CPU, as the test suite runs it so that it cannot rot between GPU runs:

    PYTHONPATH=src python3 benchmarks/gpu_check.py --device cpu --quick --out /tmp/check

Parts (``--skip`` / ``--only`` take their names):

- ``correctness``: vectorised == one-at-a-time training in float64 on the device for every
  registered architecture (a few models, a few steps); the device == CPU in float32 for the zoo
  CNN; permuted hidden units compute the same function (every architecture).
- ``zoo_training``: models*epochs/s of the vectorised trainer at several M against one model at
  a time on the same device, steady-state epochs on **synthetic** 28x28 images (MNIST's size;
  throughput does not depend on the pixels), and the projected time of a 1000 x 50 MNIST zoo.
- ``autoencoder``: checkpoints/s of the 2022 Table 8 autoencoder, training in fp32 and in bf16
  autocast, and encoding; peak device memory.
- ``finetune``: fine-tuning and evaluation throughput of a 50-model population.
- ``gan``: the latent GAN's time per step at the App. E.2 sizes.

Exits 1 if a correctness check fails, 2 if a part crashes (the summary is written either way).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import torch

from hyperreps.architecture import ARCHITECTURES, get_architecture, zoo_cnn_name
from hyperreps.augment import permutation_index, random_permutations
from hyperreps.data import SplitData
from hyperreps.trainer.forward import population_forward
from hyperreps.trainer.loop import train_population
from hyperreps.trainer.specs import ModelSpec, TrainSettings
from hyperreps.trainer.one_at_a_time import train_one_at_a_time

PARTS = ("correctness", "zoo_training", "autoencoder", "finetune", "gan")
MNIST_TRAIN_IMAGES = 50_000  # after the 10,000 validation images
TARGETS = {"speedup_vs_one_at_a_time": 100.0, "zoo_1000x50_minutes": 15.0}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def synthetic(n: int, shape, n_classes: int, seed: int, dtype=torch.float32) -> SplitData:
    g = torch.Generator().manual_seed(seed)
    return SplitData(torch.randn(n, *shape, generator=g, dtype=dtype),
                     torch.randint(0, n_classes, (n,), generator=g))


def part_correctness(device: torch.device, quick: bool) -> dict:
    out, failures = {}, []
    settings = TrainSettings(activation="relu", epochs=1, batch_size=10)
    specs = [ModelSpec(seed=1, init="kaiming_uniform", lr=1e-3),
             ModelSpec(seed=2, init="xavier_normal", lr=3e-3, weight_decay=1e-3)]
    for name, arch in ARCHITECTURES.items():
        data = synthetic(23, arch.input_shape, arch.n_classes, 0, torch.float64).to(device)
        res = train_population(specs, settings, data, {}, arch.layout, device=device,
                               dtype=torch.float64)
        diff = max(float((res.weights[i, -1].to(device) - train_one_at_a_time(
            s, settings, data, dtype=torch.float64, device=device, layout=arch.layout)).abs().max())
            for i, s in enumerate(specs))
        ok = diff < 1e-10
        out[f"vectorised_vs_one_at_a_time_{name}"] = {"max_abs_diff": diff, "ok": ok}
        failures += [] if ok else [f"vectorised != one-at-a-time for {name}: {diff:.3g}"]
        layout = arch.layout
        gen = torch.Generator().manual_seed(0)
        flat = (0.3 * torch.randn(3, layout.n_params, generator=gen, dtype=torch.float64))
        permuted = flat.gather(-1, permutation_index(layout, random_permutations(layout, 3, gen)))
        x = data.x[:8]
        a = population_forward(layout.unflatten(permuted.to(device)), x, "tanh", arch=arch)
        b = population_forward(layout.unflatten(flat.to(device)), x, "tanh", arch=arch)
        pdiff = float((a - b).abs().max())
        out[f"permutation_symmetry_{name}"] = {"max_abs_diff": pdiff, "ok": pdiff < 1e-10}
        failures += [] if pdiff < 1e-10 else [f"permutation breaks {name}: {pdiff:.3g}"]
    if device.type != "cpu":
        arch = get_architecture(zoo_cnn_name(1))
        data = synthetic(40, arch.input_shape, 10, 1)
        cfg = TrainSettings(activation="tanh", epochs=1 if quick else 2, batch_size=10)
        here = train_population(specs, cfg, data.to(device), {}, arch.layout, device=device)
        cpu = train_population(specs, cfg, data, {}, arch.layout, device="cpu")
        d = float((here.weights[:, -1].cpu() - cpu.weights[:, -1]).abs().max())
        out["device_vs_cpu_float32"] = {"max_abs_diff": d, "ok": d < 1e-3}
        failures += [] if d < 1e-3 else [f"device != CPU in float32: {d:.3g}"]
    out["failures"] = failures
    return out


def _rate(specs, settings, data, layout, device) -> float:
    """models*epochs/s of one timed epoch after a warm-up epoch (steady state)."""
    train_population(specs, TrainSettings(**{**settings.__dict__, "epochs": 1}), data, {},
                     layout, device=device)
    sync(device)
    t = time.perf_counter()
    train_population(specs, settings, data, {}, layout, device=device)
    sync(device)
    return len(specs) * settings.epochs / (time.perf_counter() - t)


def part_zoo_training(device: torch.device, quick: bool) -> dict:
    arch = get_architecture(zoo_cnn_name(1))
    n_images = 200 if quick else 2000
    data = synthetic(n_images, arch.input_shape, 10, 2).to(device)
    settings = TrainSettings(activation="tanh", epochs=1, batch_size=10)
    # one model at a time: the same trainer with M = 1 (the per-model rate of a plain loop)
    single = _rate([ModelSpec(seed=1, lr=1e-3)], settings, data, arch.layout, device)
    out = {"images_per_epoch": n_images, "synthetic_images": True,
           "one_at_a_time_models_epochs_per_s": single, "curve": []}
    for m in ((4, 8) if quick else (64, 256, 1000)):
        rate = _rate([ModelSpec(seed=s, lr=1e-3) for s in range(m)], settings, data,
                     arch.layout, device)
        out["curve"].append({"models": m, "models_epochs_per_s": rate,
                             "speedup_vs_one_at_a_time": rate / single})
        log(f"zoo training M={m}: {rate:.2f} model-epochs/s ({rate / single:.1f}x)")
    best = max(out["curve"], key=lambda r: r["models_epochs_per_s"])
    per_epoch_scale = MNIST_TRAIN_IMAGES / n_images
    out["projected_zoo_1000x50_minutes"] = 1000 * 50 * per_epoch_scale / \
        best["models_epochs_per_s"] / 60
    out["targets"] = TARGETS
    return out


def part_autoencoder(device: torch.device, quick: bool) -> dict:
    from hyperreps.autoencoder.model import AutoencoderShape, HyperAutoencoder
    from hyperreps.autoencoder.train import AutoencoderTraining, encode_weights, train_autoencoder

    layout = get_architecture(zoo_cnn_name(1)).layout
    shape = (AutoencoderShape(d_model=64, n_heads=4, d_ff=128, latent_dim=64) if quick
             else AutoencoderShape())  # 2022 Table 8
    n = 64 if quick else 2000
    g = torch.Generator().manual_seed(3)
    data = {k: 0.3 * torch.randn(n if k == "train" else n // 4, layout.n_params, generator=g)
            for k in ("train", "val", "test")}
    out = {"shape": shape.__dict__, "checkpoints": n}
    for label, amp in (("fp32", False), ("bf16", True)):
        if amp and device.type != "cuda":
            out[f"train_{label}"] = "not measured (bf16 autocast runs on CUDA only)"
            continue
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        settings = AutoencoderTraining(epochs=2 if quick else 5, batch_size=32 if quick else 500,
                                       eval_every=100, mixed_precision=amp)
        trained = train_autoencoder(data, layout, shape, settings, device)
        out[f"train_{label}_checkpoints_per_s"] = trained.metrics["checkpoints_per_second"]
        if device.type == "cuda":
            out[f"peak_memory_{label}_gib"] = torch.cuda.max_memory_allocated() / 2**30
        log(f"autoencoder {label}: {trained.metrics['checkpoints_per_second']:.0f} "
            "checkpoints/s training")
    model = HyperAutoencoder(layout, shape)
    encode_weights(model, data["val"], device=device)
    sync(device)
    t = time.perf_counter()
    encode_weights(model, data["train"], device=device)
    sync(device)
    out["encode_checkpoints_per_s"] = n / (time.perf_counter() - t)
    return out


def part_finetune(device: torch.device, quick: bool) -> dict:
    from hyperreps.trainer.evaluate import evaluate_weights

    arch = get_architecture(zoo_cnn_name(1))
    m = 8 if quick else 50
    data = synthetic(200 if quick else 5000, arch.input_shape, 10, 4)
    init = 0.1 * torch.randn(m, arch.layout.n_params, generator=torch.Generator().manual_seed(5))
    settings = TrainSettings(activation="tanh", epochs=1, batch_size=10)
    specs = [ModelSpec(seed=s, lr=1e-3) for s in range(m)]
    dev_data = data.to(device)
    train_population(specs, settings, dev_data, {}, arch.layout, device=device,
                     init_weights=init.to(device))
    sync(device)
    t = time.perf_counter()
    train_population(specs, settings, dev_data, {}, arch.layout, device=device,
                     init_weights=init.to(device))
    sync(device)
    tune = m / (time.perf_counter() - t)
    t = time.perf_counter()
    evaluate_weights(init, "tanh", data, device)
    sync(device)
    evaluation = m * len(data) / (time.perf_counter() - t)
    log(f"fine-tuning {m} models: {tune:.2f} model-epochs/s; evaluation {evaluation:.0f} "
        "image-models/s")
    return {"models": m, "images": len(data), "finetune_models_epochs_per_s": tune,
            "evaluate_image_models_per_s": evaluation}


def part_gan(device: torch.device, quick: bool) -> dict:
    from hyperreps.sampling.latent_gan import train_latent_gan

    anchors = np.tanh(np.random.default_rng(6).normal(0, 0.5, (256 if quick else 2000, 700)))
    small = dict(generator_hidden=[32], discriminator_hidden=[32]) if quick else {}
    epochs = 1 if quick else 5
    train_latent_gan(anchors, 0, epochs=1, device=str(device), **small)  # warm-up
    sync(device)
    t = time.perf_counter()
    train_latent_gan(anchors, 0, epochs=epochs, device=str(device), **small)
    sync(device)
    steps = epochs * -(-len(anchors) // 32)
    return {"anchors": len(anchors), "steps": steps,
            "ms_per_step": 1000 * (time.perf_counter() - t) / steps,
            "sizes": "App. E.2" if not quick else "small (quick)"}


def summary_markdown(result: dict) -> str:
    lines = [f"# GPU check: {result['device_name']}", "",
             f"torch {result['torch']}, CUDA {result['cuda']}, {result['platform']}, "
             f"quick: {result['quick']}", ""]
    for part, value in result["parts"].items():
        lines += [f"## {part} ({result['seconds'].get(part, 0):.1f} s)", "", "```",
                  json.dumps(value, indent=1, default=str), "```", ""]
    if result["failures"]:
        lines += ["## failures", ""] + [f"- {f}" for f in result["failures"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cuda or cpu")
    ap.add_argument("--quick", action="store_true", help="tiny sizes: the test suite's mode")
    ap.add_argument("--skip", nargs="*", default=[], choices=PARTS)
    ap.add_argument("--only", nargs="*", default=None, choices=PARTS)
    a = ap.parse_args(argv)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available()
                          else "cpu" if a.device == "auto" else a.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() \
        or platform.machine()
    result = {"device": str(device), "device_name": name, "torch": torch.__version__,
              "cuda": torch.version.cuda, "platform": platform.platform(), "quick": a.quick,
              "parts": {}, "seconds": {}, "failures": [], "crashed": []}
    funcs = {"correctness": part_correctness, "zoo_training": part_zoo_training,
             "autoencoder": part_autoencoder, "finetune": part_finetune, "gan": part_gan}
    for part in PARTS:
        if part in a.skip or (a.only is not None and part not in a.only):
            continue
        log(f"{part} ...")
        t = time.perf_counter()
        try:
            value = funcs[part](device, a.quick)
            result["failures"] += value.pop("failures", []) if isinstance(value, dict) else []
        except Exception:  # a crash is recorded; the other parts still run
            value = {"crashed": traceback.format_exc()}
            result["crashed"].append(part)
        result["parts"][part] = value
        result["seconds"][part] = time.perf_counter() - t
        log(f"{part} done in {result['seconds'][part]:.1f} s")
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "gpu_check.json").write_text(json.dumps(result, indent=1, default=str))
    (a.out / "gpu_check.md").write_text(summary_markdown(result))
    log(f"wrote {a.out / 'gpu_check.json'} and gpu_check.md; failures: {result['failures']}; "
        f"crashed: {result['crashed']}")
    return 1 if result["failures"] else 2 if result["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
