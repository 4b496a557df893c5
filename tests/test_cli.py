"""``hyperreps inspect`` and ``hyperreps export`` (hyperreps.cli)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from hyperreps.cli import main
from hyperreps.zoo import save_zoo
from helpers import ROOT, make_zoo


def test_inspect_our_zoo_and_a_ray_tune_folder(tmp_path, capsys):
    save_zoo(tmp_path / "z", make_zoo(n_models=4, n_epochs=3, diverged=(2,)))
    assert main(["inspect", str(tmp_path / "z")]) == 0
    out = capsys.readouterr().out
    assert "hyperreps zoo: 4 models x 3 checkpoints (epochs 0..2)" in out
    assert "diverged models: 1" in out and "sha256 of every file verified" in out
    assert "epoch    2: test accuracy min" in out
    assert main(["inspect", str(ROOT / "config/test/raytune")]) == 0
    assert "Ray Tune zoo: 2 models x 3 checkpoints" in capsys.readouterr().out


def test_inspect_a_checkpoint_folder_and_refuse_what_is_not_a_zoo(tmp_path, capsys):
    assert main(["inspect", str(ROOT / "config/test/checkpoints"), "--pattern",
                 "run{model}/epoch_{epoch}.pt", "--architecture", "unterthiner_cnn"]) == 0
    assert "3 models x 2 checkpoints (epochs 0, 4)" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="not a zoo"):
        main(["inspect", str(tmp_path)])


def test_inspect_names_a_corrupt_file(tmp_path, capsys):
    path = save_zoo(tmp_path / "z", make_zoo())
    (path / "metadata.csv").write_text("altered")
    assert main(["inspect", str(path)]) == 1
    assert "metadata.csv" in capsys.readouterr().err


def test_export_writes_state_dicts(tmp_path, capsys):
    save_zoo(tmp_path / "z", make_zoo(n_models=3, n_epochs=2))
    assert main(["export", str(tmp_path / "z"), str(tmp_path / "out"), "--epoch", "0"]) == 0
    assert "exported 3 models" in capsys.readouterr().out
    index = json.loads((tmp_path / "out" / "index.json").read_text())
    assert index["epoch"] == 0 and len(index["models"]) == 3


def snapshot(root):
    """Every entry under ``root`` (not following links): its kind and its bytes (a file), its
    target (a link) or its mode (anything else), to compare before and after a command."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    found[os.path.relpath(path, root)] = ("file", f.read())
            elif stat.S_ISLNK(st.st_mode):
                found[os.path.relpath(path, root)] = ("link", os.readlink(path))
            else:
                found[os.path.relpath(path, root)] = ("other", stat.S_IFMT(st.st_mode))
    return found


@pytest.fixture
def workspace(tmp_path):
    """A user's folder: a zoo, notes beside it, a thesis folder, an empty folder, links."""
    work = tmp_path / "work"
    save_zoo(work / "zoo", make_zoo(n_models=3, n_epochs=2))
    (work / "notes.txt").write_text("my notes, not backed up\n")
    (work / "thesis").mkdir()
    (work / "thesis" / "thesis.tex").write_text("\\chapter{Results}\n")
    (work / "empty").mkdir()
    (work / "link_to_thesis").symlink_to(work / "thesis")
    (work / "link_to_empty").symlink_to(work / "empty")
    (work / "link_to_zoo").symlink_to(work / "zoo")
    (work / "dangling").symlink_to(work / "nowhere")
    os.mkfifo(work / "fifo")
    fake = work / "not_an_export"  # an index.json like ours among a user's files
    fake.mkdir()
    (fake / "index.json").write_text(json.dumps({"format": "hyperreps-model", "models": []}))
    (fake / "thesis.tex").write_text("draft")
    return work


# OUT relative to the workspace, extra arguments, and words the message must hold
REFUSED = {
    "an existing file": ("notes.txt", [], "is a file"),
    "a folder with a user's files": ("thesis", [], "not empty"),
    "a folder with a user's files, --replace": ("thesis", ["--replace"], "not empty"),
    "the source zoo": ("zoo", [], "is the source zoo"),
    "the source zoo, --replace": ("zoo", ["--replace"], "is the source zoo"),
    "the folder that holds the zoo": (".", [], "holds the source zoo"),
    "the zoo through '..'": ("thesis/../zoo", [], "is the source zoo"),
    "a new folder inside the zoo": ("zoo/exported", [], "lies inside the source zoo"),
    "a new folder inside the zoo through a link": ("link_to_zoo/exported", [],
                                                   "lies inside the source zoo"),
    "a symlink to a folder with files": ("link_to_thesis", [], "symbolic link"),
    "a symlink to an empty folder": ("link_to_empty", [], "symbolic link"),
    "a symlink to the zoo": ("link_to_zoo", [], "is the source zoo"),
    "a dangling symlink": ("dangling", [], "symbolic link"),
    "a FIFO": ("fifo", [], "FIFO"),
    "a path below a file": ("notes.txt/exported", [], "not a folder"),
    "an index.json among a user's files, --replace": ("not_an_export", ["--replace"],
                                                       "not empty"),
}


@pytest.mark.parametrize("case", REFUSED)
def test_export_refuses_a_destination_and_leaves_every_byte(workspace, capsys, case,
                                                           monkeypatch):
    """Issue 30: each of these used to be deleted or replaced, with exit code 0."""
    out, extra, rule = REFUSED[case]
    monkeypatch.chdir(workspace)  # OUT as a user types it, relative
    before = snapshot(workspace.parent)
    assert main(["export", "zoo", out, *extra]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"hyperreps export: {out}: ") and err.count("\n") == 1, err
    assert rule in err and "Traceback" not in err
    assert snapshot(workspace.parent) == before


def test_export_refuses_a_device(workspace, capsys):
    assert main(["export", str(workspace / "zoo"), os.devnull]) == 1
    err = capsys.readouterr().err
    assert f"{os.devnull}: exists and is a character device" in err
    assert stat.S_ISCHR(os.lstat(os.devnull).st_mode)


def test_export_replaces_a_previous_export_only_with_replace(workspace, capsys):
    out = workspace / "exported"
    assert main(["export", str(workspace / "zoo"), str(out)]) == 0
    capsys.readouterr()
    first = snapshot(out)
    assert sorted(first) == ["index.json", *(f"model_{i:04d}.{x}" for i in range(3)
                                             for x in ("json", "safetensors"))]
    assert main(["export", str(workspace / "zoo"), str(out), "--epoch", "0"]) == 1
    err = capsys.readouterr().err
    assert str(out) in err and "previous output" in err and "pass --replace" in err
    assert snapshot(out) == first
    save_zoo(workspace / "zoo2", make_zoo(n_models=2, n_epochs=2))
    assert main(["export", str(workspace / "zoo2"), str(out), "--epoch", "0", "--replace"]) == 0
    assert "exported 2 models" in capsys.readouterr().out
    index = json.loads((out / "index.json").read_text())
    assert index["epoch"] == 0 and len(index["models"]) == 2
    assert not (out / "model_0002.json").exists()  # nothing left of the old export
    assert [p.name for p in workspace.iterdir() if p.name.startswith(".")] == []


def test_export_writes_into_an_empty_folder(workspace, capsys):
    assert main(["export", str(workspace / "zoo"), str(workspace / "empty")]) == 0
    assert (workspace / "empty" / "index.json").is_file()


def test_export_refusal_is_quick_and_has_no_traceback(workspace):
    """As a user runs it: a new process, a one-line message, well under 2 s (torch is not
    imported and the zoo not read before the destination is checked)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "hyperreps.cli", "export",
                          str(workspace / "zoo"), str(workspace / "thesis")],
                         capture_output=True, text=True, env=env, timeout=60)
    elapsed = time.perf_counter() - start
    assert run.returncode == 1 and run.stdout == ""
    assert run.stderr.count("\n") == 1 and str(workspace / "thesis") in run.stderr
    assert "thesis.tex" in run.stderr and "Traceback" not in run.stderr
    assert elapsed < 2.0, elapsed
    assert (workspace / "thesis" / "thesis.tex").read_text() == "\\chapter{Results}\n"


def test_every_verb_has_help(capsys):
    for verb in ("inspect", "export"):
        with pytest.raises(SystemExit) as e:
            main([verb, "--help"])
        assert e.value.code == 0
        assert "usage: hyperreps " + verb in capsys.readouterr().out


def test_check_config_names_the_file_where_snakemakes_reader_would_not(tmp_path, capsys):
    """Issue 30: non-UTF-8 bytes, deep nesting and a 5,000-digit integer stop Snakemake's own
    config reader with a bare traceback; ``hyperreps check-config`` names file and problem."""
    from helpers import ROOT

    assert main(["check-config", str(ROOT / "config" / "demo.yaml")]) == 0
    assert capsys.readouterr().out.strip().endswith("demo.yaml: valid")
    cases = {"latin.yaml": (b"name: d\xe9mo\n", "not UTF-8"),
             "deep.yaml": (b"x: " + b"[" * 2000 + b"]" * 2000 + b"\n", "nests too deep"),
             "digits.yaml": (b"x: " + b"9" * 5000 + b"\n", "cannot be read"),
             "yte.yaml": (b"__use_yte__: true\n", "__use_yte__")}
    for name, (data, says) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert main(["check-config", str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert str(tmp_path / name) in err and says in err and err.count("\n") == 1, err
