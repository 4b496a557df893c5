# hyperreps: hyper-representations end to end.
#
#   snakemake --cores 2 --configfile config/demo.yaml     # bundled data, minutes on a CPU
#   snakemake --cores 8 --use-conda                       # paper scale (config/config.yaml)
#
# Results: results/<name>/ (name: the config's `name:`, else the config file's stem), e.g.
# results/demo/zoos/<zoo>/{shards/<n>,zoo,split.json}, results/demo/tables/, logs in logs/<name>/.

import os
import sys

from snakemake.utils import min_version

from hyperreps.device import CPU_MALLOC_ENV
from hyperreps.publish import remove_stale_temporaries

min_version("9.0")

report: "report/workflow.rst"

# inherited by every job's process (see hyperreps.device): faster CPU training
for _key, _value in CPU_MALLOC_ENV.items():
    os.environ.setdefault(_key, _value)

# --configfile replaces the default config rather than merging into it: a demo run must not
# inherit the paper's zoos.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/resources.smk"
include: "rules/zoos.smk"
include: "rules/representation.smk"
include: "rules/generative.smk"


# Missing datasets and imports that cannot serve the config fail here, after the DAG is built
# and before any job starts (not in a dry run: `-n` plans the paper config on a machine without
# its datasets).
onstart:
    if workflow.local_exec and CUDA_PROBLEM:  # jobs would run here, without a GPU
        raise WorkflowError(CUDA_PROBLEM)
    _problems = check_inputs(config, produced=PRODUCED_IMPORTS)
    if _problems:
        raise WorkflowError("missing inputs:\n" + "\n".join(f"  - {p}" for p in _problems))
    # what killed writes left under results/<name>/ (never trusted as outputs): a process no
    # longer running here, and on a cluster, whose jobs run elsewhere, also two days unchanged
    _stale = remove_stale_temporaries(RESULTS, None if workflow.local_exec else 2 * 86400)
    if _stale:
        print(f"removed {len(_stale)} temporary file(s) of killed writes under {RESULTS}",
              file=sys.stderr)


rule all:
    default_target: True
    input:
        all_targets(),
