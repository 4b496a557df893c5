"""Import a zoo from the reference Ray Tune layout (untrusted files: no unpickling); with
``skip_unsafe`` the unsafe or malformed models are left out and reported."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging, warn_loudly  # noqa: E402

from hyperreps.data import dataset_info  # noqa: E402
from hyperreps.importers import import_raytune_zoo  # noqa: E402
from hyperreps.zoo import save_zoo, write_json_atomic  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
cfg = snakemake.params.zoo  # noqa: F821
zoo = import_raytune_zoo(cfg["import_from"], cfg["dataset"],
                         dataset_info(cfg["dataset"]).channels, cfg.get("skip_unsafe", False))
skipped = zoo.info["skipped"]
save_zoo(snakemake.output.zoo, zoo)  # noqa: F821
write_json_atomic(snakemake.output.report, {  # noqa: F821
    "imported_from": cfg["import_from"], "imported": zoo.n_models, "epochs": zoo.n_epochs,
    "skipped": skipped})
log.info("imported %d models x %d epochs from %s", zoo.n_models, zoo.n_epochs, cfg["import_from"])
if skipped:
    warn_loudly(log, f"zoo {snakemake.wildcards.zoo}: skipped {len(skipped)} unsafe or "  # noqa: F821
                f"malformed model folder(s) of {cfg['import_from']} (skip_unsafe: true); "
                f"first: {skipped[0]['model']}: {skipped[0]['reason']}; all in "
                f"{snakemake.output.report}")  # noqa: F821
