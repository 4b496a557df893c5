# Stage 3: generative evaluation, for the zoos the config names (generative.in_dataset and the
# transfer pairs' sources). Per source zoo, every population (samplers and baselines) as zoos;
# per (source, target) pair, all populations fine-tuned in one vectorised run with the target
# zoo's hyperparameters; ensembles in-dataset; the paper's tables and figures from all pairs.


rule sample_populations:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        autoencoders=ae_dirs,
        embeddings=ae_embeddings,
    output:
        directory(f"{RESULTS}/populations/{{zoo}}"),
    log:
        f"{LOGS}/generative/{{zoo}}/sample.log",
    params:
        generative=config["generative"],
        window=lambda wc: ae_window(wc.zoo),
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/sample_populations.py"


rule finetune_populations:
    input:
        populations=f"{RESULTS}/populations/{{source}}",
        source_zoo=f"{RESULTS}/zoos/{{source}}/zoo",
        source_split=f"{RESULTS}/zoos/{{source}}/split.json",
        target_zoo=f"{RESULTS}/zoos/{{target}}/zoo",
        target_split=f"{RESULTS}/zoos/{{target}}/split.json",
    output:
        zoo=directory(f"{RESULTS}/finetune/{{source}}/{{target}}/zoo"),
        accuracy=f"{RESULTS}/finetune/{{source}}/{{target}}/accuracy.csv",
        info=f"{RESULTS}/finetune/{{source}}/{{target}}/info.json",
    log:
        f"{LOGS}/generative/{{source}}/finetune_{{target}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/finetune/{{source}}/{{target}}.tsv"
    params:
        target=lambda wc: ZOOS[wc.target],
        epochs=lambda wc: finetune_epochs(config, wc.source, wc.target),
        seed=config["generative"]["seed"],
        window=lambda wc: ae_window(wc.source),
        # training state after every epoch: a killed job resumes where it stopped
        resume=lambda wc: f"{RESULTS}/finetune/{wc.source}/{wc.target}/resume.safetensors",
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
        mem_mb=finetune_mem_mb,
        runtime=finetune_runtime,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/finetune_populations.py"


rule ensembles:
    input:
        finetuned=f"{RESULTS}/finetune/{{zoo}}/{{zoo}}/zoo",
        info=f"{RESULTS}/finetune/{{zoo}}/{{zoo}}/info.json",
        target_zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        target_split=f"{RESULTS}/zoos/{{zoo}}/split.json",
    output:
        f"{RESULTS}/finetune/{{zoo}}/{{zoo}}/ensembles.csv",
    log:
        f"{LOGS}/generative/{{zoo}}/ensembles.log",
    params:
        ensembles=config["generative"]["ensembles"],
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/ensembles.py"


rule generative_tables:
    input:
        accuracy=[f"{RESULTS}/finetune/{s}/{t}/accuracy.csv" for s, t in PAIRS],
        populations=[f"{RESULTS}/populations/{s}" for s in SOURCES],
        ensembles=[f"{RESULTS}/finetune/{s}/{s}/ensembles.csv" for s, t in PAIRS if s == t],
    output:
        in_dataset=multiext(f"{RESULTS}/tables/table1_in_dataset", ".md", ".csv", ".tex"),
        transfer=multiext(f"{RESULTS}/tables/table2_transfer", ".md", ".csv", ".tex"),
        median_ci=multiext(f"{RESULTS}/tables/tables10_12_median_ci", ".md", ".csv", ".tex"),
        mwu=multiext(f"{RESULTS}/tables/tables11_13_mwu_cles", ".md", ".csv", ".tex"),
        summary=f"{RESULTS}/tables/population_summary.csv",
        figures=directory(f"{RESULTS}/figures/generative"),
    log:
        f"{LOGS}/generative/tables.log",
    params:
        # per pair: fine-tuning epochs, the (epoch, reference_epoch) comparisons, and the
        # source autoencoder window's last epoch (where in-dataset samples sit on B_T's axis)
        pairs=[dict(source=s, target=t, epochs=finetune_epochs(config, s, t),
                    comparisons=comparisons(config, s, t), offset=ae_window(s)[1])
               for s, t in PAIRS],
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/generative_tables.py"


rule reconstructed_finetuning:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        autoencoder=lambda wc: lwln_autoencoder(wc.zoo),
    output:
        table=multiext(f"{RESULTS}/tables/fig6_reconstructed_vs_original_{{zoo}}", ".md", ".csv", ".tex"),
        figure=f"{RESULTS}/figures/fig6_reconstructed_vs_original_{{zoo}}.png",
    log:
        f"{LOGS}/generative/{{zoo}}/reconstructed_finetuning.log",
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
        epochs=config["generative"]["finetune_epochs"],
        seed=config["generative"]["seed"],
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/reconstructed_finetuning.py"


rule unseen_zoo:
    input:
        autoencoder=lambda wc: lwln_autoencoder(wc.source),
        zoo=f"{RESULTS}/zoos/{{target}}/zoo",
        split=f"{RESULTS}/zoos/{{target}}/split.json",
    output:
        directory(f"{RESULTS}/unseen_zoos/{{source}}/{{target}}"),
    log:
        f"{LOGS}/generative/{{source}}/unseen_zoo_{{target}}.log",
    params:
        window=lambda wc: ae_window(wc.source),
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/unseen_zoo.py"


rule table3_unseen_zoos:
    input:
        [f"{RESULTS}/unseen_zoos/{p['autoencoder']}/{p['zoo']}" for p in UNSEEN_ZOOS],
    output:
        table=multiext(f"{RESULTS}/tables/table3_unseen_zoos", ".md", ".csv", ".tex"),
    log:
        f"{LOGS}/generative/table3_unseen_zoos.log",
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/unseen_tables.py"


rule unseen_architecture:
    input:
        populations=f"{RESULTS}/populations/{{source}}",
        target_zoo=f"{RESULTS}/zoos/{{target}}/zoo",
    output:
        f"{RESULTS}/unseen_architectures/{{source}}/{{target}}/{{architecture}}.csv",
    log:
        f"{LOGS}/generative/{{source}}/unseen_architecture_{{target}}_{{architecture}}.log",
    params:
        epochs=UNSEEN_ARCH["epochs"],
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/unseen_architecture.py"


rule table4_unseen_architectures:
    input:
        [f"{RESULTS}/unseen_architectures/{s}/{t}/{a}.csv" for s, t, a in UNSEEN_ARCH_RUNS],
    output:
        table=multiext(f"{RESULTS}/tables/table4_unseen_architectures", ".md", ".csv", ".tex"),
        stats=multiext(f"{RESULTS}/tables/table4_unseen_architectures_stats", ".md", ".csv",
                       ".tex"),
        figure=f"{RESULTS}/figures/table4_unseen_architectures.png",
    log:
        f"{LOGS}/generative/table4_unseen_architectures.log",
    params:
        epochs=sorted(UNSEEN_ARCH["epochs"]),
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/unseen_tables.py"
