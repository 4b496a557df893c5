"""Import a zoo from the reference Ray Tune layout (untrusted files: no unpickling); with
``skip_unsafe`` the unsafe or malformed models are left out and reported."""

from hyperreps.jobs import start
from hyperreps.data import dataset_info
from hyperreps.importers import import_raytune_zoo
from hyperreps.zoo import save_zoo
from hyperreps.publish import write_json

job = start(snakemake)
cfg = snakemake.params.zoo
zoo = import_raytune_zoo(cfg["import_from"], cfg["dataset"],
                         dataset_info(cfg["dataset"]).channels, cfg.get("skip_unsafe", False))
skipped = zoo.info["skipped"]
save_zoo(snakemake.output.zoo, zoo)
write_json(snakemake.output.report, {
    "imported_from": cfg["import_from"], "imported": zoo.n_models, "epochs": zoo.n_epochs,
    "skipped": skipped})
job.log.info("imported %d models x %d epochs from %s", zoo.n_models, zoo.n_epochs,
                 cfg["import_from"])
if skipped:
    job.warn(f"zoo {snakemake.wildcards.zoo}: skipped {len(skipped)} unsafe or "
                f"malformed model folder(s) of {cfg['import_from']} (skip_unsafe: true); "
                f"first: {skipped[0]['model']}: {skipped[0]['reason']}; all in "
                f"{snakemake.output.report}")
