# Stage 3: generative evaluation. Per source zoo, every population (samplers and baselines)
# as zoos; per (source, target) pair, all populations fine-tuned in one vectorised run;
# ensembles in-dataset; the paper's tables and figures from all pairs.


rule sample_populations:
    input:
        zoo="results/zoos/{zoo}/zoo",
        split="results/zoos/{zoo}/split.json",
        autoencoders=ae_dirs,
        embeddings=ae_embeddings,
    output:
        directory("results/populations/{zoo}"),
    log:
        "logs/generative/{zoo}/sample.log",
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
        populations="results/populations/{source}",
        source_zoo="results/zoos/{source}/zoo",
        source_split="results/zoos/{source}/split.json",
        target_zoo="results/zoos/{target}/zoo",
        target_split="results/zoos/{target}/split.json",
    output:
        zoo=directory("results/finetune/{source}/{target}/zoo"),
        accuracy="results/finetune/{source}/{target}/accuracy.csv",
        info="results/finetune/{source}/{target}/info.json",
    log:
        "logs/generative/{source}/finetune_{target}.log",
    benchmark:
        "results/benchmarks/finetune/{source}/{target}.tsv"
    params:
        target=lambda wc: ZOOS[wc.target],
        epochs=config["generative"]["finetune_epochs"],
        seed=config["generative"]["seed"],
        window=lambda wc: ae_window(wc.source),
        # training state after every epoch: a killed job resumes where it stopped
        resume=lambda wc: f"results/finetune/{wc.source}/{wc.target}/resume.safetensors",
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/finetune_populations.py"


rule ensembles:
    input:
        finetuned="results/finetune/{zoo}/{zoo}/zoo",
        info="results/finetune/{zoo}/{zoo}/info.json",
        target_zoo="results/zoos/{zoo}/zoo",
        target_split="results/zoos/{zoo}/split.json",
    output:
        "results/finetune/{zoo}/{zoo}/ensembles.csv",
    log:
        "logs/generative/{zoo}/ensembles.log",
    params:
        ensembles=config["generative"]["ensembles"],
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/ensembles.py"


rule generative_tables:
    input:
        accuracy=[f"results/finetune/{s}/{t}/accuracy.csv" for s, t in PAIRS],
        ensembles=[f"results/finetune/{s}/{s}/ensembles.csv" for s, t in PAIRS if s == t],
    output:
        in_dataset=multiext("results/tables/table1_in_dataset", ".md", ".csv", ".tex"),
        transfer=multiext("results/tables/table2_transfer", ".md", ".csv", ".tex"),
        median_ci=multiext("results/tables/tables10_12_median_ci", ".md", ".csv", ".tex"),
        mwu=multiext("results/tables/tables11_13_mwu_cles", ".md", ".csv", ".tex"),
        summary="results/tables/population_summary.csv",
        figures=directory("results/figures/generative"),
    log:
        "logs/generative/tables.log",
    params:
        epochs=config["generative"]["statistics_epochs"],
        finetune_epochs=config["generative"]["finetune_epochs"],
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/generative_tables.py"
