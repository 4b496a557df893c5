"""Zoo-structure diagnostics: table, figure and JSON (read by the reconstruction table)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.autoencoder.model import AutoencoderShape  # noqa: E402
from hyperreps.diagnostics import diagnose_zoo, summary_table  # noqa: E402
from hyperreps.figures.zoo import plot_zoo_diagnostics  # noqa: E402
from hyperreps.publish import write_text  # noqa: E402
from hyperreps.tables import render, write_csv, write_table  # noqa: E402
from hyperreps.zoo import load_zoo, write_json_atomic  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
name = snakemake.wildcards.zoo  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
code_width = AutoencoderShape(**snakemake.params.architecture).code_width  # noqa: F821
window = snakemake.params.window  # noqa: F821
if window is None:  # no autoencoder: the zoo's last five epochs
    window = (max(1, zoo.n_epochs - 5), zoo.n_epochs - 1)
diag = diagnose_zoo(zoo, split, tuple(window), code_width)
table = summary_table(diag)
md, csv, tex = snakemake.output.table  # noqa: F821
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
                     diag.summary, snakemake.output.figure, name=name)  # noqa: F821
write_json_atomic(snakemake.output.json, dict(  # noqa: F821
    summary=diag.summary, ceiling_by_width=diag.ceiling_by_width.to_dict(orient="list"),
    ceiling_by_models=diag.ceiling_by_models.to_dict(orient="list")))
log.info("\n%s", table.to_string(index=False))
