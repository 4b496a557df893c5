"""The paper's tables (1, 2, 10-13) and figures (4, 5, 7, 14-21, latent-GAN losses) from every
fine-tuning run."""

from pathlib import Path

import pandas as pd

from hyperreps.jobs import start
from hyperreps.figures.generative import (plot_accuracy_over_epochs, plot_ensembles,
                                          plot_gan_losses, plot_sampler_comparison)
from hyperreps.generative.tables import (in_dataset_table, median_ci_table, mwu_table,
                                         population_summary, transfer_table)
from hyperreps.tables import write_table
from hyperreps.publish import staged_dir

job = start(snakemake)
out = snakemake.output
pairs = {(p["source"], p["target"]): p for p in snakemake.params.pairs}
comparisons = {k: [(c["epoch"], c["reference_epoch"]) for c in p["comparisons"]]
               for k, p in pairs.items()}
in_dataset = [p for (s, t), p in pairs.items() if s == t]
transfer = [p for (s, t), p in pairs.items() if s != t]
acc = pd.concat([pd.read_csv(p) for p in snakemake.input.accuracy], ignore_index=True)
ens = [pd.read_csv(p) for p in snakemake.input.ensembles]


def classes_of(zoo):
    """The number of classes of a zoo's dataset (where the figures draw chance)."""
    return snakemake.params.n_classes[zoo]


def epochs_of(group, key):
    return sorted({e for p in group for e in ([0, 1, p["epochs"]] if key == "epochs" else
                                             [c["reference_epoch"] for c in p["comparisons"]])})


def described(group):
    return "; ".join(f"{p['source']} -> {p['target']}: fine-tuned {p['epochs']} epochs, "
                     + ", ".join(f"epoch {c['epoch']} vs B_T epoch {c['reference_epoch']}"
                                 for c in p["comparisons"]) for p in group)


novelty = ("nn_distance: mean Euclidean distance of a population's models (as sampled) to the "
           "nearest training checkpoint of the source zoo; nn_agreement: mean % of test images "
           "on which a model predicts as that checkpoint does. Accuracy against novelty on "
           "both axes, with noise as a curve: tables/2025_novelty_frontier_<zoo>.")
write_table(in_dataset_table(acc, epochs=epochs_of(in_dataset, "epochs"),
                             bt_epochs=epochs_of(in_dataset, "reference")), out.in_dataset,
            caption="Table 1: in-dataset, test accuracy in % (mean ± std) of each population "
            "as sampled (epoch 0) and fine-tuned; B_T trained from scratch, with its own "
            "columns at the comparison epochs (2022: B_T 50). " + novelty)
write_table(transfer_table(acc, epochs=epochs_of(transfer, "epochs"),
                           bt_epochs=epochs_of(transfer, "reference")), out.transfer,
            caption="Table 2 / 000 Table 5: transfer, source zoo -> target data with the "
            "target's hyperparameters, test accuracy in % (mean ± std). " + novelty)
write_table(median_ci_table(acc, comparisons), out.median_ci,
            caption="Tables 10/12: median test accuracy with bootstrapped 95% CI; each row's "
            "value is read at at_epoch: the fine-tuned populations at epoch, B_T at "
            "reference_epoch. Comparisons: " + described(pairs.values()) + ".")
write_table(mwu_table(acc, comparisons, novelty_baselines=("N_noise", "N_avg")), out.mwu,
            caption="Tables 11/13: two-sided Mann-Whitney U p-value and CLES of each population "
            "(at epoch) against B_T (at reference_epoch) and B_F (at epoch), and of each sampled "
            "population against the novelty baselines N_noise and N_avg (at epoch). CLES > 0.5: "
            "the population tends to be more accurate. N_noise is one noise level, not a "
            "comparison at equal novelty: that is tables/2025_novelty_frontier_<zoo>. "
            "Comparisons: " + described(pairs.values()) + ".")
write_table(population_summary(acc), out.summary)

with staged_dir(out.figures) as figures:
    for (source, target), p in pairs.items():
        stem = f"{source}_to_{target}"
        # 2022 Fig. 4: samples as decoded against B_T after as many epochs as the
        # hyper-representation's training models had (in-dataset; 25 in the paper)
        plot_sampler_comparison(acc, source, target, 0,
                                figures / f"sampler_comparison_{stem}_epoch0.png",
                                n_classes=classes_of(target),
                                scratch_epoch=p["offset"] if source == target else 0)
        last = p["epochs"]
        reference = max(c["reference_epoch"] for c in p["comparisons"])
        plot_sampler_comparison(acc, source, target, last,
                                figures / f"sampler_comparison_{stem}_epoch{last}.png",
                                n_classes=classes_of(target), scratch_epoch=reference)
        # 2022 Figs. 14-21: in-dataset samples start on B_T's axis at the window's last epoch
        plot_accuracy_over_epochs(acc, source, target,
                                  figures / f"accuracy_over_epochs_{stem}.png",
                                  n_classes=classes_of(target),
                                  offset=p["offset"] if source == target else 0)
    for table in ens:
        source = table["source"].iloc[0]
        plot_ensembles(table, source, figures / f"ensembles_{source}.png",
                       n_classes=classes_of(source))
    for folder in snakemake.input.populations:
        for path in sorted(Path(folder).glob("gan_losses_*.csv")):
            name = path.stem.removeprefix("gan_losses_")
            plot_gan_losses(pd.read_csv(path), f"{Path(folder).name}: {name}",
                            figures / f"gan_losses_{Path(folder).name}_{name}.png")
job.log.info("%d rows from %d runs; figures in %s", len(acc), len(snakemake.input.accuracy),
             out.figures)
