"""2022 App. D, Table 9: autoencoders reconstructing the test splits of other zoos."""


import pandas as pd

from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.data import DataSettings, load_dataset
from hyperreps.representation.reconstruction import cross_zoo_reconstruction
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
settings = DataSettings.from_config(snakemake.params.data)
rows = []
for pair, ae_path, zoo_path, split_path in zip(snakemake.params.pairs,
                                               snakemake.input.autoencoders,
                                               snakemake.input.zoos,
                                               snakemake.input.splits):
    model, info, tensors = load_autoencoder(ae_path)
    zoo = load_zoo(zoo_path)
    split = load_split(split_path)
    data = load_dataset(zoo.dataset, settings)
    r = cross_zoo_reconstruction(model, info, tensors, zoo, split, tuple(pair["window"]),
                                 data.test, job.device)
    rows.append(dict(training_zoo=pair["autoencoder"], variant=info["variant"],
                     test_zoo=pair["zoo"], **r))
    job.log.info("autoencoder %s (%s) on zoo %s: R² %.3f (lwln %.3f), accuracy %.3f -> %.3f",
                 pair["autoencoder"], info["variant"], pair["zoo"], r["r2"], r["r2_lwln"],
                 r["acc_original"], r["acc_decoded"])
table = pd.DataFrame(rows)
write_table(table, snakemake.output.table, floatfmt=".4g",
            caption="2022 App. D, Table 9: reconstruction of each test zoo's test split "
            "(checkpoints in the autoencoder's window) by an autoencoder trained on another "
            "zoo. r2: 1 - MSE / MSE of the autoencoder's training mean (raw weights); r2_lwln: "
            "the same on weights scaled by the training layers' std; acc_*: test models at the "
            "window's last epoch, original and decoded.")
grid = table.pivot(index="training_zoo", columns="test_zoo", values="r2_lwln")
write_table(grid.reset_index(), snakemake.output.grid, floatfmt=".3f",
            caption="Table 9 as in the paper: rows = the zoo the autoencoder was trained on, "
            "columns = the test zoo, values = reconstruction R² (r2_lwln).")
