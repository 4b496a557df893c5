"""Safetensors files are the same bytes for the same content (issue 25: the library writes
its metadata in a per-process hash order, so a kill-and-resume run and a run from scratch
wrote equal embeddings as different files)."""

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from hyperreps.representation.embeddings import load_embeddings, save_embeddings
from hyperreps.tensor_files import save_tensors, tensor_file_bytes

META = {"zoo": "digits", "variant": "lwln", "dataset": "digits", "format": "x"}


def test_the_same_tensors_and_metadata_give_the_same_bytes():
    t = {"z": torch.randn(5, 3), "model_ids": torch.arange(5),
         "mask": torch.ones(4, dtype=torch.uint8)}
    assert len({tensor_file_bytes(t, META) for _ in range(20)}) == 1


def test_the_file_reads_back_as_written(tmp_path):
    t = {"z": torch.randn(5, 3), "model_ids": torch.arange(5)}
    save_tensors(t, tmp_path / "a.safetensors", META)
    back = load_file(tmp_path / "a.safetensors")
    assert all(torch.equal(back[k], t[k]) for k in t)
    with safe_open(str(tmp_path / "a.safetensors"), "pt") as f:
        assert f.metadata() == META
    header = int.from_bytes((tmp_path / "a.safetensors").read_bytes()[:8], "little")
    assert header % 8 == 0  # the data starts 8-byte aligned, as the format asks


def test_embedding_files_are_byte_identical_across_saves(tmp_path):
    z = torch.randn(4, 3, 8)
    paths = [tmp_path / f"e{i}.safetensors" for i in range(8)]
    for p in paths:
        save_embeddings(p, z, [0, 1, 2, 3], META)
    assert len({p.read_bytes() for p in paths}) == 1
    assert torch.equal(load_embeddings(paths[0]).z, z)
