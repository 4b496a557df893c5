"""Models out as ordinary PyTorch (issue 23): any zoo or population written as one
``.safetensors`` state dict per model, with the keys of a plain ``torch.nn.Module`` of its
architecture (:class:`hyperreps.architecture.SingleModel`: ``conv1.weight``, ``conv1.bias``,
...), and a JSON beside each that says what it is: architecture (its layers), activation, the
dataset and its preprocessing, the epoch and the metrics measured on it.

Load one::

    import json, torch
    from safetensors.torch import load_file
    from hyperreps.architecture import SingleModel

    info = json.load(open("model_0000.json"))
    model = SingleModel(info["architecture"], info["activation"]).eval()
    model.load_state_dict(load_file("model_0000.safetensors"), strict=True)
    logits = model(images)  # [B, C, H, W], preprocessed as info["preprocessing"] says
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..architecture import architecture_of
from ..data import dataset_info
from ..importers.measured import measure_checkpoints
from ..metrics import METRICS
from ..destinations import (EXPORT_FORMAT, check_user_destination, discard_previous_export,
                            is_previous_export)
from ..publish import staged_dir
from ..zoo import Zoo
from ..tensor_files import save_tensors

FORMAT = EXPORT_FORMAT


def _preprocessing(dataset: str) -> str:
    """The dataset's preprocessing, as the data module documents it."""
    info = dataset_info(dataset)
    return (f"{info.name}: {info.channels} channel(s), {info.image_size}x{info.image_size}, "
            f"preprocessed by hyperreps.data.DATASETS[{info.name!r}].preprocess "
            f"({getattr(info.preprocess, '__name__', 'a function')}; see hyperreps.data)")


def export_zoo(zoo: Zoo, folder, epoch: int | None = None, source: str = "", *,
               replace: bool = False, sources=()) -> int:
    """Write every finite model of ``zoo`` at epoch number ``epoch`` (default: the zoo's last)
    to ``folder`` as ``model_NNNN.safetensors`` + ``model_NNNN.json``, and an ``index.json``.
    Non-finite models are listed in the index as skipped. Returns the number written.

    ``folder`` must not exist yet or be an empty folder (a rule's output: Snakemake deletes
    and creates it), and must not be, lie in or hold any of ``sources`` (the zoo's files);
    a previous export there is replaced only with ``replace=True``, and anything else is
    refused (:func:`hyperreps.destinations.check_user_destination`): nothing export did not
    write is ever removed."""
    replacing = check_user_destination(folder, sources=sources, replace=replace,
                                       recognise=is_previous_export, writer="hyperreps export",
                                       source_name="zoo")
    epoch = int(zoo.epochs[-1]) if epoch is None else int(epoch)
    at = zoo.position(epoch)
    arch = architecture_of(zoo.layout)
    models = zoo.models()
    activation = models["activation"].to_numpy() if "activation" in models else None
    metrics = {k: zoo.metric(k)[:, at] for k in METRICS}
    written, skipped = [], []
    with staged_dir(folder, replace=replacing, discard=discard_previous_export) as tmp:
        tmp = Path(tmp)
        for i, model_id in enumerate(zoo.info["model_ids"]):
            w = zoo.weights[i, at]
            if not bool(torch.isfinite(w).all()):
                skipped.append(int(model_id))
                continue
            stem = f"model_{len(written):04d}"
            state = {k: v.contiguous().clone()
                     for k, v in zoo.layout.unflatten(w.float()).items()}
            save_tensors(state, tmp / f"{stem}.safetensors",
                         metadata={"format": FORMAT, "architecture": arch.name})
            info = {"format": FORMAT, "architecture": arch.name,
                    "layers": zoo.layout.as_list(), "input_shape": list(arch.input_shape),
                    "n_classes": arch.n_classes,
                    "activation": None if activation is None else str(activation[i]),
                    "dataset": zoo.dataset, "preprocessing": _preprocessing(zoo.dataset),
                    "model_id": int(model_id), "epoch": epoch, "source": source,
                    "metrics": {k: (None if not np.isfinite(v[i]) else float(v[i]))
                                for k, v in metrics.items()}}
            (tmp / f"{stem}.json").write_text(json.dumps(info, indent=1))
            written.append({"file": f"{stem}.safetensors", "model_id": int(model_id)})
        (tmp / "index.json").write_text(json.dumps(
            {"format": FORMAT, "architecture": arch.name, "dataset": zoo.dataset,
             "epoch": epoch, "source": source, "models": written,
             "skipped_non_finite": skipped}, indent=1))
    return len(written)


def with_test_metrics(zoo: Zoo, data, device="cpu") -> Zoo:
    """``zoo`` with test loss and accuracy measured at every epoch where they are missing (a
    population as sampled has none), so exported models carry their measured metrics."""
    meta = zoo.metadata.copy()
    activations = zoo.models()["activation"].to_numpy()
    for at, epoch in enumerate(zoo.epochs):
        rows = (meta["epoch"] == epoch).to_numpy()
        if meta.loc[rows, "test_acc"].notna().all():
            continue
        measured = measure_checkpoints(zoo.weights[:, at], activations, data, zoo.layout,
                                       splits=("test",), device=device)
        loss, acc = measured["test_loss"], measured["test_acc"]
        order = {m: i for i, m in enumerate(zoo.info["model_ids"])}
        idx = [order[int(m)] for m in meta.loc[rows, "model_id"]]
        meta.loc[rows, "test_loss"], meta.loc[rows, "test_acc"] = loss[idx], acc[idx]
    return Zoo(zoo.weights, meta, zoo.layout, zoo.dataset, zoo.info)
