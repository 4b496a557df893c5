"""Import a zoo (untrusted files: no code runs) in whichever registered format the config's
``import_from`` names (hyperreps.importers.registry): the reference Ray Tune layout, a Small CNN
Zoo folder filtered as the config says, or a folder of PyTorch checkpoints."""

from hyperreps.data import DataSettings
from hyperreps.importers.registry import import_report, import_zoo, resolve_import
from hyperreps.jobs import start
from hyperreps.publish import write_json
from hyperreps.zoo import describe_epochs, save_zoo

job = start(snakemake)
source = resolve_import(snakemake.params.zoo)
result = import_zoo(source, DataSettings.from_config(snakemake.params.data), job.device)
save_zoo(snakemake.output.zoo, result.zoo)
write_json(snakemake.output.report, import_report(source, result))
job.log.info("imported %d models at epochs %s from %s (%s); accuracy check: %s",
             result.zoo.n_models, describe_epochs(result.zoo.epochs), source.path,
             source.format, result.accuracy_check)
for warning in result.warnings:
    job.warn(f"zoo {snakemake.wildcards.zoo}: {warning}"
             + (f"; all in {snakemake.output.report}" if result.skipped else ""))
