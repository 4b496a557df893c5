"""Split a zoo by model into train/val/test; diverged models are excluded and counted."""

from hyperreps.jobs import start
from hyperreps.zoo import load_zoo
from hyperreps.splits import split_models
from hyperreps.publish import write_json

job = start(snakemake)
s = snakemake.params.split
split = split_models(load_zoo(snakemake.input[0]), (s["train"], s["val"], s["test"]), s["seed"])
write_json(snakemake.output[0], split)
job.log.info("split counts: %s", split["counts"])
empty = [k for k in ("train", "val", "test") if not split["counts"][k]]
if empty:
    job.warn(f"zoo {snakemake.wildcards.zoo}: the split leaves 0 models in "
                f"{' and '.join(empty)} ({split['counts']}); every statistic on "
                f"{'them' if len(empty) > 1 else 'it'} will be missing (NaN). More models, "
                "or other split fractions, fix it.")
