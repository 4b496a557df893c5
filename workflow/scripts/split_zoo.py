"""Split a zoo by model into train/val/test; diverged models are excluded and counted."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging, warn_loudly  # noqa: E402

from hyperreps.zoo import load_zoo, split_models, write_json_atomic  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
s = snakemake.config["split"]  # noqa: F821
split = split_models(load_zoo(snakemake.input[0]), (s["train"], s["val"], s["test"]), s["seed"])  # noqa: F821
write_json_atomic(snakemake.output[0], split)  # noqa: F821
log.info("split counts: %s", split["counts"])
empty = [k for k in ("train", "val", "test") if not split["counts"][k]]
if empty:
    warn_loudly(log, f"zoo {snakemake.wildcards.zoo}: the split leaves 0 models in "  # noqa: F821
                f"{' and '.join(empty)} ({split['counts']}); every statistic on "
                f"{'them' if len(empty) > 1 else 'it'} will be missing (NaN). More models, "
                "or other split fractions, fix it.")
