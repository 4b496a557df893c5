# Stage 2: hyper-representations. Per zoo, one autoencoder per variant (LWLN and the plain-MSE
# baseline) on the training window's checkpoints; the whole zoo embedded; reconstruction,
# property probes and embedding geometry as tables and figures.


rule train_autoencoder:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
    output:
        directory(f"{RESULTS}/autoencoders/{{zoo}}/{{variant}}/model"),
    log:
        f"{LOGS}/autoencoders/{{zoo}}/train_{{variant}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/autoencoders/{{zoo}}/train_{{variant}}.tsv"
    params:
        autoencoder=ae_config,
        variant=lambda wc: wc.variant,
    threads: 2
    resources:
        mem_mb=autoencoder_mem_mb,
        runtime=autoencoder_runtime,
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/train_autoencoder.py"


rule embed_zoo:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        autoencoder=f"{RESULTS}/autoencoders/{{zoo}}/{{variant}}/model",
    output:
        f"{RESULTS}/autoencoders/{{zoo}}/{{variant}}/embeddings.safetensors",
    log:
        f"{LOGS}/autoencoders/{{zoo}}/embed_{{variant}}.log",
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/embed_zoo.py"


rule evaluate_reconstruction:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        autoencoders=ae_dirs,
        diagnostics=f"{RESULTS}/zoos/{{zoo}}/diagnostics.json",
    output:
        table=multiext(f"{RESULTS}/tables/reconstruction_{{zoo}}", ".md", ".csv", ".tex"),
        figure=report(
            f"{RESULTS}/figures/reconstruction_{{zoo}}_layers.png",
            caption="../report/reconstruction.rst",
            category="Hyper-representations",
            labels={"zoo": "{zoo}", "figure": "per-layer reconstruction"},
        ),
    log:
        f"{LOGS}/autoencoders/{{zoo}}/reconstruction.log",
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/evaluate_reconstruction.py"


rule probe_properties:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        embeddings=ae_embeddings,
    output:
        summary=multiext(f"{RESULTS}/tables/probes_{{zoo}}", ".md", ".csv", ".tex"),
        full=f"{RESULTS}/tables/probes_{{zoo}}_all_splits.csv",
    log:
        f"{LOGS}/autoencoders/{{zoo}}/probes.log",
    params:
        # the checkpoints the hyper-representation was trained on (2021 zoos: epochs 1-25,
        # 25 per model as in 2021 App. D.1; 2022 zoos: 21-25)
        window=lambda wc: ae_window(wc.zoo),
        class_f_scores=lambda wc: wc.zoo in F_SCORE_ZOOS,
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/probe_properties.py"


rule plot_embeddings:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        embeddings=ae_embeddings,
    output:
        report(
            f"{RESULTS}/figures/embeddings_{{zoo}}_geometry.png",
            caption="../report/embeddings.rst",
            category="Hyper-representations",
            labels={"zoo": "{zoo}", "figure": "embedding geometry"},
        ),
    log:
        f"{LOGS}/autoencoders/{{zoo}}/plot_embeddings.log",
    params:
        window=lambda wc: ae_window(wc.zoo),
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/plot_embeddings.py"


rule robustness_smoothness:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        autoencoders=ae_dirs,
    output:
        robustness=multiext(f"{RESULTS}/tables/robustness_{{zoo}}", ".md", ".csv", ".tex"),
        smoothness=multiext(f"{RESULTS}/tables/smoothness_{{zoo}}", ".md", ".csv", ".tex"),
        figure=report(
            f"{RESULTS}/figures/robustness_smoothness_{{zoo}}.png",
            caption="../report/robustness_smoothness.rst",
            category="Hyper-representations",
            labels={"zoo": "{zoo}", "figure": "robustness and smoothness (Fig. 3)"},
        ),
    log:
        f"{LOGS}/autoencoders/{{zoo}}/robustness_smoothness.log",
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
        trajectory=lambda wc: list(trajectory_epochs(config, wc.zoo)),
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/robustness_smoothness.py"


rule cross_zoo_reconstruction:
    input:
        autoencoders=[lwln_autoencoder(p["autoencoder"]) for p in CROSS_ZOO],
        zoos=[f"{RESULTS}/zoos/{p['zoo']}/zoo" for p in CROSS_ZOO],
        splits=[f"{RESULTS}/zoos/{p['zoo']}/split.json" for p in CROSS_ZOO],
    output:
        table=multiext(f"{RESULTS}/tables/table9_cross_zoo_reconstruction", ".md", ".csv", ".tex"),
        grid=multiext(f"{RESULTS}/tables/table9_grid", ".md", ".csv", ".tex"),
    log:
        f"{LOGS}/autoencoders/cross_zoo_reconstruction.log",
    params:
        pairs=[dict(p, window=ae_window(p["autoencoder"])) for p in CROSS_ZOO],
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/cross_zoo_reconstruction.py"


rule train_ablation_autoencoder:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
    output:
        directory(f"{RESULTS}/autoencoders/{{zoo}}/ablation/{{objective}}_c{{ratio}}/model"),
    log:
        f"{LOGS}/autoencoders/{{zoo}}/train_ablation_{{objective}}_c{{ratio}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/autoencoders/{{zoo}}/train_ablation_{{objective}}_c{{ratio}}.tsv"
    params:
        autoencoder=ae_config,
        variant=ABLATION_VARIANT,
    threads: 2
    resources:
        mem_mb=autoencoder_mem_mb,
        runtime=autoencoder_runtime,
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/train_autoencoder.py"


rule compression_ablation:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        autoencoders=lambda wc: [
            f"{RESULTS}/autoencoders/{wc.zoo}/ablation/{r['objective']}_c{r['ratio']}/model"
            for r in ABLATION_RUNS],
    output:
        table=multiext(f"{RESULTS}/tables/table5_compression_ablation_{{zoo}}", ".md", ".csv",
                       ".tex"),
    log:
        f"{LOGS}/autoencoders/{{zoo}}/compression_ablation.log",
    params:
        runs=ABLATION_RUNS,
        window=lambda wc: ae_window(wc.zoo),
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/compression_ablation.py"


rule probe_transfer:
    input:
        zoo=f"{RESULTS}/zoos/{{zoo}}/zoo",
        split=f"{RESULTS}/zoos/{{zoo}}/split.json",
        autoencoder=lambda wc: lwln_autoencoder(wc.zoo),
        embeddings=lambda wc: (f"{RESULTS}/autoencoders/{wc.zoo}/{lwln_variant(wc.zoo)}/"
                               "embeddings.safetensors"),
        target_zoos=lambda wc: [f"{RESULTS}/zoos/{t}/zoo" for t in PROBE_TRANSFER[wc.zoo]],
        target_splits=lambda wc: [f"{RESULTS}/zoos/{t}/split.json" for t in PROBE_TRANSFER[wc.zoo]],
    output:
        table=multiext(f"{RESULTS}/tables/probe_transfer_{{zoo}}", ".md", ".csv", ".tex"),
        figure=f"{RESULTS}/figures/probe_transfer_{{zoo}}.png",
    log:
        f"{LOGS}/autoencoders/{{zoo}}/probe_transfer.log",
    params:
        targets=lambda wc: PROBE_TRANSFER[wc.zoo],
        window=lambda wc: ae_window(wc.zoo),
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/probe_transfer.py"
