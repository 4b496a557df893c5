"""W_Mix2 fitted on two disjoint halves of the training models, drawn from the same seeds: how
alike the paired samples are, against how alike each is to its own and to the other half."""

from hyperreps.jobs import start
from hyperreps.data import DataSettings, load_dataset
from hyperreps.generative.generalisation import disjoint_halves_check
from hyperreps.generative.weight_alignment import load_aligned
from hyperreps.generative.mixing_populations import parent_mixer
from hyperreps.splits import load_split
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo, single_setting

job = start(snakemake)
p = snakemake.params
zoo = load_zoo(snakemake.input.zoo)
aligned = load_aligned(snakemake.input.aligned, zoo.layout.n_params)
data = load_dataset(zoo.dataset, DataSettings.from_config(p.data))
activation = single_setting(zoo, "activation")
draw = parent_mixer(2, p.mixing, zoo.layout, activation, data.train)
table = disjoint_halves_check(zoo, load_split(snakemake.input.split), tuple(p.window),
                              aligned.models, aligned.model_ids, draw, p.n, p.seed, activation,
                              data.test, zoo.layout)
write_table(table, snakemake.output,
            caption=f"{snakemake.wildcards.zoo}: W_Mix2 fitted on each of two disjoint halves "
                    "of the training models and drawn from the same seeds, on the test split. "
                    "paired_iou: error IoU of the two samples of one seed; unpaired_iou: of "
                    "samples of different seeds (the baseline); own_half_iou / other_half_iou: "
                    "max error-IoU of a sample with the window's checkpoints of the half it was "
                    "fitted on / of the other half. A generator that generalises has paired > "
                    "unpaired and own = other; one that copies has own > other. 95% bootstrap "
                    "CIs.")
