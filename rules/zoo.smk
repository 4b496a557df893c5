# Stage 1: model zoos. Each shard is an independent job (one vectorised population), which is
# how a zoo spreads over a cluster's GPUs; shards merge into one zoo, split by model.


rule train_zoo_shard:
    output:
        directory(f"{RESULTS}/zoos/{{zoo}}/shards/{{shard}}"),
    log:
        f"{LOGS}/zoos/{{zoo}}/train_{{shard}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/zoos/{{zoo}}/train_{{shard}}.tsv"
    params:
        zoo=lambda wc: ZOOS[wc.zoo],
        # training state after every epoch: a killed job resumes where it stopped
        resume=lambda wc: f"{RESULTS}/zoos/{wc.zoo}/resume/{wc.shard}.safetensors",
    threads: 2
    resources:
        mem_mb=shard_mem_mb,
        runtime=shard_runtime,
        # a GPU unless the config pins the CPU; uncapped locally unless --resources gpu=N
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/train_zoo_shard.py"


rule merge_zoo_shards:
    input:
        shard_dirs,
    output:
        directory(f"{RESULTS}/zoos/{{zoo}}/zoo"),
    log:
        f"{LOGS}/zoos/{{zoo}}/merge.log",
    wildcard_constraints:
        zoo=names_regex(TRAINED_ZOOS),
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/merge_zoo_shards.py"


rule import_zoo:
    output:
        zoo=directory(f"{RESULTS}/zoos/{{zoo}}/zoo"),
        report=f"{RESULTS}/zoos/{{zoo}}/import_report.json",
    log:
        f"{LOGS}/zoos/{{zoo}}/import.log",
    wildcard_constraints:
        zoo=names_regex(IMPORTED_ZOOS),
    params:
        zoo=lambda wc: ZOOS[wc.zoo],
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/import_zoo.py"


rule split_zoo:
    input:
        f"{RESULTS}/zoos/{{zoo}}/zoo",
    output:
        f"{RESULTS}/zoos/{{zoo}}/split.json",
    log:
        f"{LOGS}/zoos/{{zoo}}/split.log",
    params:
        split=config["split"],
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/split_zoo.py"


rule plot_zoo_accuracy:
    input:
        f"{RESULTS}/zoos/{{zoo}}/zoo",
    output:
        report(
            f"{RESULTS}/figures/zoo_{{zoo}}_accuracy.png",
            caption="../report/zoo_accuracy.rst",
            category="Model zoos",
            labels={"zoo": "{zoo}", "figure": "test accuracy per epoch"},
        ),
    log:
        f"{LOGS}/zoos/{{zoo}}/plot.log",
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/plot_zoo.py"


rule plot_zoo_properties:
    input:
        f"{RESULTS}/zoos/{{zoo}}/zoo",
    output:
        report(
            f"{RESULTS}/figures/zoo_{{zoo}}_properties.png",
            caption="../report/zoo_properties.rst",
            category="Model zoos",
            labels={"zoo": "{zoo}", "figure": "properties and UMAP of the weights"},
        ),
    log:
        f"{LOGS}/zoos/{{zoo}}/plot_properties.log",
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/plot_zoo_properties.py"


rule diagnose_zoo:
    # Does the zoo share structure an autoencoder can learn? Displacement from init, the
    # init-deviation correlation, accuracy spread and the held-out PCA ceiling (by code width
    # and by number of training models) on the autoencoder's epoch window.
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
    output:
        json=f"{RESULTS}/zoos/{{zoo}}/diagnostics.json",
        table=multiext(f"{RESULTS}/tables/zoo_diagnostics_{{zoo}}", ".md", ".csv", ".tex"),
        figure=report(
            f"{RESULTS}/figures/zoo_{{zoo}}_diagnostics.png",
            caption="../report/zoo_diagnostics.rst",
            category="Model zoos",
            labels={"zoo": "{zoo}", "figure": "structure diagnostics"},
        ),
    log:
        f"{LOGS}/zoos/{{zoo}}/diagnostics.log",
    params:
        window=lambda wc: diagnostics_window(wc.zoo),
        architecture=lambda wc: AE_CONFIG[wc.zoo]["architecture"],
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/diagnose_zoo.py"


rule permutation_equivalence:
    # 2021 App. A / App. Fig. 1: model A (the zoo's first model, its settings, up to 10
    # epochs), its permuted copy Ap, and B trained from Ap's start; one small job per zoo
    output:
        table=multiext(f"{RESULTS}/tables/permutation_equivalence_{{zoo}}", ".md", ".csv"),
        figure=report(
            f"{RESULTS}/figures/permutation_equivalence_{{zoo}}.png",
            caption="../report/permutation_equivalence.rst",
            category="zoos",
        ),
    log:
        f"{LOGS}/zoos/{{zoo}}/permutation_equivalence.log",
    wildcard_constraints:
        zoo=names_regex(TRAINED_ZOOS),
    params:
        zoo=lambda wc: ZOOS[wc.zoo],
        epochs=lambda wc: min(10, ZOOS[wc.zoo]["epochs"]),
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/permutation_equivalence.py"
