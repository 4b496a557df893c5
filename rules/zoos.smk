# Stage 1: model zoos. Each shard is an independent job (one vectorised population), which is
# how a zoo spreads over a cluster's GPUs; shards merge into one zoo, split by model.


rule train_zoo_shard:
    output:
        directory(SHARD),
    log:
        logfile("zoos/{zoo}/train_{shard}"),
    benchmark:
        benchfile("zoos/{zoo}/train_{shard}")
    params:
        # the shard's models as planned once, here (config.plan): the job does not plan again
        rows=shard_rows,
        training=lambda wc: {k: ZOOS[wc.zoo][k] for k in SHARD_TRAINING},
        architecture=lambda wc: zoo_architecture(ZOOS[wc.zoo]),
        data=DATA,
        device=DEVICE,
        threads=THREADS,
        # training state after every epoch: a killed job resumes where it stopped
        resume=f"{RESULTS}/zoos/{{zoo}}/resume/{{shard}}.safetensors",
    threads: THREADS
    resources:
        mem_mb=shard_mem_mb,
        runtime=shard_runtime,
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/train_zoo_shard.py"


rule merge_zoo_shards:
    input:
        shard_dirs,
    output:
        directory(ZOO),
    log:
        logfile("zoos/{zoo}/merge"),
    wildcard_constraints:
        zoo=names_regex(TRAINED_ZOOS),
    conda:
        ENV
    script:
        "../workflow/scripts/merge_zoo_shards.py"


rule small_cnn_zoo_archive:
    # a trained zoo written in Unterthiner et al.'s Small CNN Zoo format (issue 23): what an
    # imported Small CNN Zoo looks like, made from bundled data so that CI runs the importer
    input:
        ZOO,
    output:
        directory(SCZ_ARCHIVE),
    log:
        logfile("zoos/{zoo}/small_cnn_zoo_archive"),
    wildcard_constraints:
        zoo=names_regex(list(SCZ_ARCHIVES)),
    params:
        steps=lambda wc: SCZ_ARCHIVES[wc.zoo]["steps"],
    conda:
        ENV
    script:
        "../workflow/scripts/small_cnn_zoo_archive.py"


rule import_zoo:
    input:
        import_input,
    output:
        zoo=directory(ZOO),
        report=f"{RESULTS}/zoos/{{zoo}}/import_report.json",
    log:
        logfile("zoos/{zoo}/import"),
    wildcard_constraints:
        zoo=names_regex(IMPORTED_ZOOS),
    params:
        zoo=lambda wc: ZOOS[wc.zoo],
        data=DATA,
        device=DEVICE,
    conda:
        ENV
    script:
        "../workflow/scripts/import_zoo.py"


rule split_zoo:
    input:
        ZOO,
    output:
        SPLIT,
    log:
        logfile("zoos/{zoo}/split"),
    params:
        split=config["split"],
    conda:
        ENV
    script:
        "../workflow/scripts/split_zoo.py"


rule zoo_accuracy:
    # 2021 App. Fig. 3, row one: test accuracy per epoch
    input:
        ZOO,
    output:
        figure("2021_appfig3_zoo_accuracy_{zoo}", "zoo", "zoo_accuracy", "{zoo}",
               "test accuracy per epoch (2021 App. Fig. 3)"),
    log:
        logfile("zoos/{zoo}/zoo_accuracy"),
    conda:
        ENV
    script:
        "../workflow/scripts/zoo_accuracy.py"


rule zoo_properties:
    # 2021 App. Fig. 3, rows 2-5: accuracy vs the mean weight, UMAP of the weights
    input:
        ZOO,
    output:
        figure("2021_appfig3_zoo_properties_{zoo}", "zoo", "zoo_properties", "{zoo}",
               "properties and UMAP of the weights (2021 App. Fig. 3)"),
    log:
        logfile("zoos/{zoo}/zoo_properties"),
    conda:
        ENV
    script:
        "../workflow/scripts/zoo_properties.py"


rule zoo_diagnostics:
    # Does the zoo share structure an autoencoder can learn? Displacement from init, the
    # init-deviation correlation, accuracy spread and the held-out PCA ceiling (by code width
    # and by number of training models) on the autoencoder's epoch window.
    input:
        **zoo_of("{zoo}"),
    output:
        json=DIAGNOSTICS,
        table=table("zoo_diagnostics_{zoo}", "zoo", "zoo_diagnostics", "{zoo}",
                    "structure diagnostics"),
        figure=figure("zoo_diagnostics_{zoo}", "zoo", "zoo_diagnostics", "{zoo}",
                      "structure diagnostics"),
    log:
        logfile("zoos/{zoo}/zoo_diagnostics"),
    params:
        window=lambda wc: diagnostics_window(wc.zoo),
        architecture=lambda wc: AE_CONFIG[wc.zoo]["architecture"],
    conda:
        ENV
    script:
        "../workflow/scripts/zoo_diagnostics.py"


rule permutation_equivalence:
    # 2021 App. A / App. Fig. 1: model A (the zoo's first model, its settings, up to 10
    # epochs), its permuted copy Ap, and B trained from Ap's start; one small job per zoo
    output:
        table=table("2021_appfig1_permutation_equivalence_{zoo}", "zoo",
                    "permutation_equivalence", "{zoo}", "permutation equivalence"),
        figure=figure("2021_appfig1_permutation_equivalence_{zoo}", "zoo",
                      "permutation_equivalence", "{zoo}", "permutation equivalence"),
    log:
        logfile("zoos/{zoo}/permutation_equivalence"),
    wildcard_constraints:
        zoo=names_regex(TRAINED_ZOOS),
    params:
        zoo=lambda wc: ZOOS[wc.zoo],
        epochs=lambda wc: min(10, ZOOS[wc.zoo]["epochs"]),
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/permutation_equivalence.py"


rule export_zoo:
    # models out as ordinary PyTorch: one state dict per model (issue 23)
    input:
        ZOO,
    output:
        directory(EXPORTED_ZOO),
    log:
        logfile("zoos/{zoo}/export"),
    params:
        data=DATA,
    conda:
        ENV
    script:
        "../workflow/scripts/export_zoo.py"
