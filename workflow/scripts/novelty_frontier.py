"""The novelty frontier of one sampled zoo (issue 22): every population, the zoo's own models
and the noise curves on the 2025 audit's axes at epoch 0; the table, the figure, and every
measured model with its error mask."""

from hyperreps.jobs import start
from hyperreps.autoencoder.io import load_autoencoder
from hyperreps.data import DataSettings, load_dataset
from hyperreps.representation.embeddings import load_embeddings
from hyperreps.figures.novelty_frontier import plot_novelty_frontier
from hyperreps.generative.novelty_frontier import novelty_frontier, save_frontier, table_for_display
from hyperreps.generative.populations import load_populations
from hyperreps.importers.model_files import load_audited
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split

job = start(snakemake)
p, name = snakemake.params, snakemake.wildcards.zoo
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
model, _, _ = load_autoencoder(snakemake.input.autoencoder)
embeddings = load_embeddings(snakemake.input.embeddings, zoo).z
populations, info = load_populations(snakemake.input.populations, which="all")
populations.update(load_audited(p.audit, zoo.layout))  # novelty_frontier.audit
data = load_dataset(zoo.dataset, DataSettings.from_config(p.data))
result = novelty_frontier(zoo, split, tuple(p.window), populations, model, embeddings, data.test,
                          info["activation"], p.settings, p.top_fraction, job.device)
save_frontier(snakemake.output.data, result)
write_table(table_for_display(result.table), snakemake.output.table,
            caption=f"{name}: each population at epoch 0 against the noise curves. Behaviour, at "
                    "equal accuracy: delta_iou = the max error-IoU (with any training checkpoint) "
                    "that noise models of the model's accuracy have, by an increasing isotonic "
                    "regression over every noise model, minus the model's own, averaged over the "
                    "population (> 0: more novel than noise; in_range: % of its models inside the "
                    "noise models' accuracy range); gap_closed: delta_iou as % of that of the "
                    "zoo's independently trained models (zoo_independent: zoo_train, own "
                    "checkpoints excluded, and zoo_test); acc_share: accuracy as % of theirs; "
                    "vs_selected_noise: a population selected on validation data minus noise under"
                    " the same selection (W_Mix2_QD - N_noise_QD), ΔIoU with its CI; chance_iou: "
                    "the IoU of independent errors at the same error rates. Weights, at equal "
                    "distance (L2 to the nearest checkpoint for noise_raw, to the nearest "
                    "reconstructed checkpoint for noise_reconstructed): diff_l2 = accuracy minus "
                    "the curve's (%). 95% bootstrap CIs; vs_noise: above / below where the CI "
                    "excludes 0, level where it spans it.")
plot_novelty_frontier(result.models, result.points, snakemake.output.figure,
                      f"{name}: accuracy against novelty at epoch 0", p.n_classes, result.table)
