"""Import a zoo (untrusted files: no code runs) from the reference Ray Tune layout, where
``skip_unsafe`` leaves out and reports unsafe or malformed models, from a Small CNN Zoo folder
(Unterthiner et al.), filtered as the config says, or from a folder of PyTorch checkpoints
(metrics measured on the zoo's dataset)."""

from hyperreps.jobs import start
from hyperreps.architecture import get_architecture
from hyperreps.checkpoint_folder import import_checkpoint_folder
from hyperreps.config.queries import import_source, zoo_architecture
from hyperreps.data import DataSettings, dataset_info, load_dataset, missing_dataset
from hyperreps.importers import import_raytune_zoo
from hyperreps.small_cnn_zoo import accuracy_check, import_small_cnn_zoo
from hyperreps.zoo import describe_epochs, save_zoo
from hyperreps.publish import write_json

ACCURACY_TOLERANCE = 0.02  # mean |re-evaluated - recorded| test accuracy of an import

job = start(snakemake)
cfg = snakemake.params.zoo
source = import_source(cfg)
check = None
if source["format"] == "small_cnn_zoo":
    zoo = import_small_cnn_zoo(source["path"], cfg["dataset"], zoo_architecture(cfg),
                               source["where"], source["runs"], source["steps"],
                               source.get("split_csv"))
    skipped = []
    settings = DataSettings.from_config(snakemake.params.data)
    if missing_dataset(cfg["dataset"], settings) is None:  # recorded vs re-evaluated accuracy
        check = accuracy_check(zoo, load_dataset(cfg["dataset"], settings).test,
                               device=job.device)
        job.log.info("accuracy check: %s", check)
        if check["n"] and check["mean_abs_difference"] > ACCURACY_TOLERANCE:
            job.warn(f"zoo {snakemake.wildcards.zoo}: re-evaluated test accuracy differs from "
                     f"the recorded one by {check['mean_abs_difference']:.3f} on average "
                     f"({check['n']} runs at epoch {check['epoch']}): the architecture, kernel "
                     "order or preprocessing is not the one the zoo was trained with")
elif source["format"] == "checkpoints":
    info = dataset_info(cfg["dataset"])
    data = load_dataset(cfg["dataset"], DataSettings.from_config(snakemake.params.data))
    zoo = import_checkpoint_folder(source["path"], source["pattern"], cfg["dataset"],
                                   get_architecture(zoo_architecture(cfg)).layout,
                                   source.get("activation") or info.defaults["activation"],
                                   data, job.device)
    skipped = []
else:
    zoo = import_raytune_zoo(source["path"], cfg["dataset"],
                             dataset_info(cfg["dataset"]).channels, cfg.get("skip_unsafe", False),
                             activation=source.get("activation"))
    skipped = zoo.info["skipped"]
save_zoo(snakemake.output.zoo, zoo)
write_json(snakemake.output.report, {
    "imported_from": source["path"], "format": source["format"], "imported": zoo.n_models,
    "epochs": [int(e) for e in zoo.epochs], "diverged": int(zoo.models()["diverged"].sum()),
    "accuracy_check": check, "skipped": skipped})
job.log.info("imported %d models at epochs %s from %s (%s)", zoo.n_models,
             describe_epochs(zoo.epochs), source["path"], source["format"])
if skipped:
    job.warn(f"zoo {snakemake.wildcards.zoo}: skipped {len(skipped)} unsafe or "
             f"malformed model folder(s) of {source['path']} (skip_unsafe: true); "
             f"first: {skipped[0]['model']}: {skipped[0]['reason']}; all in "
             f"{snakemake.output.report}")
