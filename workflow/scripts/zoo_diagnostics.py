"""Zoo-structure diagnostics: table, figure and JSON (read by the reconstruction table)."""

from pathlib import Path

from hyperreps.jobs import start
from hyperreps.autoencoder.model import AutoencoderShape
from hyperreps.zoos.diagnostics import zoo_diagnostics, summary_table
from hyperreps.figures.zoos import plot_zoo_diagnostics
from hyperreps.publish import write_text
from hyperreps.tables import render, write_csv, write_table
from hyperreps.zoo import load_zoo
from hyperreps.splits import load_split
from hyperreps.publish import write_json

job = start(snakemake)
name = snakemake.wildcards.zoo
zoo = load_zoo(snakemake.input.zoo)
split = load_split(snakemake.input.split)
code_width = AutoencoderShape(**snakemake.params.architecture).code_width
window = snakemake.params.window
if window is None:  # no autoencoder: the zoo's last five checkpoints
    window = (int(zoo.epochs[max(1, zoo.n_epochs - 5)]), int(zoo.epochs[-1]))
diag = zoo_diagnostics(zoo, split, tuple(window), code_width)
table = summary_table(diag)
md, csv, tex = snakemake.output.table
caption = (f"Structure of zoo {name}: how far training moved the models from their random "
           "init, and the held-out PCA ceiling (what a linear autoencoder of that code width "
           "reconstructs of unseen models).")
write_table(table, tex, caption=caption)
write_csv(table, csv)


def markdown(df):
    """Floats to 3 decimals, integers as they are (to_markdown would make both floats)."""
    return df.assign(**{c: df[c].map("{:.3f}".format) for c in df.columns
                        if df[c].dtype.kind == "f"}).to_markdown(index=False)


write_text(Path(md), render(table, "md", caption=caption)  # the curves under the summary
                  + "\nHeld-out PCA ceiling by code width k:\n\n"
                  + markdown(diag.ceiling_by_width)
                  + "\n\nHeld-out PCA ceiling by number of training models:\n\n"
                  + markdown(diag.ceiling_by_models) + "\n")
plot_zoo_diagnostics(diag.ceiling_by_width, diag.ceiling_by_models, diag.per_model,
                     diag.summary, snakemake.output.figure, name=name)
write_json(snakemake.output.json, dict(
    summary=diag.summary, ceiling_by_width=diag.ceiling_by_width.to_dict(orient="list"),
    ceiling_by_models=diag.ceiling_by_models.to_dict(orient="list")))
job.log.info("\n%s", table.to_string(index=False))
