# Stage 2: hyper-representations. Per zoo, one autoencoder per variant (LWLN and the plain-MSE
# baseline) on the training window's checkpoints; the whole zoo embedded; reconstruction,
# property probes and embedding geometry as tables and figures.


rule train_autoencoder:
    input:
        zoo="results/zoos/{zoo}/zoo",
        split="results/zoos/{zoo}/split.json",
    output:
        directory("results/autoencoders/{zoo}/{variant}/model"),
    log:
        "logs/autoencoders/{zoo}/train_{variant}.log",
    benchmark:
        "results/benchmarks/autoencoders/{zoo}/train_{variant}.tsv"
    params:
        autoencoder=lambda wc: AE_CONFIG[wc.zoo],
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
        zoo="results/zoos/{zoo}/zoo",
        autoencoder="results/autoencoders/{zoo}/{variant}/model",
    output:
        "results/autoencoders/{zoo}/{variant}/embeddings.safetensors",
    log:
        "logs/autoencoders/{zoo}/embed_{variant}.log",
    threads: 2
    resources:
        gpu=0 if config["device"] == "cpu" else 1,
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/embed_zoo.py"


rule evaluate_reconstruction:
    input:
        zoo="results/zoos/{zoo}/zoo",
        split="results/zoos/{zoo}/split.json",
        autoencoders=ae_dirs,
        diagnostics="results/zoos/{zoo}/diagnostics.json",
    output:
        table=multiext("results/tables/reconstruction_{zoo}", ".md", ".csv", ".tex"),
        figure=report(
            "results/figures/reconstruction_{zoo}_layers.png",
            caption="../report/reconstruction.rst",
            category="Hyper-representations",
            labels={"zoo": "{zoo}", "figure": "per-layer reconstruction"},
        ),
    log:
        "logs/autoencoders/{zoo}/reconstruction.log",
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/evaluate_reconstruction.py"


rule probe_properties:
    input:
        zoo="results/zoos/{zoo}/zoo",
        split="results/zoos/{zoo}/split.json",
        embeddings=ae_embeddings,
    output:
        summary=multiext("results/tables/probes_{zoo}", ".md", ".csv", ".tex"),
        full="results/tables/probes_{zoo}_all_splits.csv",
    log:
        "logs/autoencoders/{zoo}/probes.log",
    threads: 2
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/probe_properties.py"


rule plot_embeddings:
    input:
        zoo="results/zoos/{zoo}/zoo",
        split="results/zoos/{zoo}/split.json",
        embeddings=ae_embeddings,
    output:
        report(
            "results/figures/embeddings_{zoo}_geometry.png",
            caption="../report/embeddings.rst",
            category="Hyper-representations",
            labels={"zoo": "{zoo}", "figure": "embedding geometry"},
        ),
    log:
        "logs/autoencoders/{zoo}/plot_embeddings.log",
    params:
        window=lambda wc: ae_window(wc.zoo),
    conda:
        "../envs/hyperreps.yaml"
    script:
        "../workflow/scripts/plot_embeddings.py"
