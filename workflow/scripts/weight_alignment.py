"""Align a source zoo's training models at the window's end by weight matching (issue 32)."""

from hyperreps.jobs import start
from hyperreps.generative.weight_alignment import align_zoo, save_aligned
from hyperreps.splits import load_split
from hyperreps.tables import write_table
from hyperreps.zoo import load_zoo

job = start(snakemake)
p = snakemake.params
result = align_zoo(load_zoo(snakemake.input.zoo), load_split(snakemake.input.split), p.epoch,
                   p.rounds, p.seed)
save_aligned(snakemake.output.data, result)
write_table(result.summary, snakemake.output.table,
            caption=f"{snakemake.wildcards.zoo}: the training models at epoch {p.epoch}, mean "
                    "pairwise L2 before and after weight matching to their refined mean "
                    "(Git Re-Basin's MergeMany, every model computes the same function)")
job.log.info("mean pairwise L2 %.3f raw, %.3f aligned",
             *result.summary.iloc[0][["mean_pairwise_l2_raw", "mean_pairwise_l2_aligned"]])
