# Stage 2: hyper-representations. Per zoo, one autoencoder per variant (LWLN and the plain-MSE
# baseline) on the training window's checkpoints; the whole zoo embedded; reconstruction,
# property probes, embedding geometry, robustness; the 2021 compression ablation and probe
# transfer; 2022 Table 9 across zoos.


rule train_autoencoder:
    input:
        **zoo_of("{zoo}"),
    output:
        directory(AE_MODEL),
    log:
        logfile("autoencoders/{zoo}/train_{variant}"),
    benchmark:
        benchfile("autoencoders/{zoo}/train_{variant}")
    params:
        autoencoder=ae_config,
        variant=lambda wc: wc.variant,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        mem_mb=autoencoder_mem_mb,
        runtime=autoencoder_runtime,
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/train_autoencoder.py"


rule embed_zoo:
    input:
        zoo=ZOO,
        autoencoder=AE_MODEL,
    output:
        EMBEDDINGS,
    log:
        logfile("autoencoders/{zoo}/embed_{variant}"),
    params:
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/embed_zoo.py"


rule reconstruction:
    # 2022 Figs. 2/9/10 and the reconstruction table: test models original vs decoded
    input:
        **zoo_of("{zoo}"),
        autoencoders=ae_dirs,
        diagnostics=DIAGNOSTICS,
    output:
        table=table("reconstruction_{zoo}", "autoencoder", "reconstruction", "{zoo}",
                    "reconstruction R² and accuracy"),
        figure=figure("2022_fig9_reconstruction_layers_{zoo}", "autoencoder", "reconstruction",
                      "{zoo}", "per-layer reconstruction (2022 Figs. 2/9/10)"),
    log:
        logfile("autoencoders/{zoo}/reconstruction"),
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/reconstruction.py"


rule probes:
    # 2021 Table 6: linear probes of model properties from W, s(W) and the embeddings
    input:
        **zoo_of("{zoo}"),
        embeddings=ae_embeddings,
    output:
        summary=table("2021_table6_probes_{zoo}", "autoencoder", "probes", "{zoo}",
                      "property probes (2021 Table 6)"),
        full=f"{RESULTS}/tables/2021_table6_probes_{{zoo}}_all_splits.csv",
    log:
        logfile("autoencoders/{zoo}/probes"),
    params:
        # the checkpoints the hyper-representation was trained on (2021 zoos: epochs 1-25,
        # 25 per model as in 2021 App. D.1; 2022 zoos: 21-25)
        window=lambda wc: ae_window(wc.zoo),
        class_f_scores=lambda wc: wc.zoo in F_SCORE_ZOOS,
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/probes.py"


rule embedding_geometry:
    # 2022 Figs. 11-13: norms, cosine distances and per-dimension distributions of the codes
    input:
        **zoo_of("{zoo}"),
        embeddings=ae_embeddings,
    output:
        figure("2022_fig11_embedding_geometry_{zoo}", "autoencoder", "embedding_geometry",
               "{zoo}", "embedding geometry (2022 Figs. 11-13)"),
    log:
        logfile("autoencoders/{zoo}/embedding_geometry"),
    params:
        window=lambda wc: ae_window(wc.zoo),
    conda:
        ENV
    script:
        "../workflow/scripts/embedding_geometry.py"


rule robustness:
    # 2022 Fig. 3: robustness to noise on the embeddings, smoothness along interpolations
    input:
        **zoo_of("{zoo}"),
        autoencoders=ae_dirs,
    output:
        robustness=table("2022_fig3_robustness_{zoo}", "autoencoder", "robustness", "{zoo}",
                         "robustness to embedding noise (2022 Fig. 3)"),
        smoothness=table("2022_fig3_smoothness_{zoo}", "autoencoder", "robustness", "{zoo}",
                         "smoothness along interpolations (2022 Fig. 3)"),
        figure=figure("2022_fig3_robustness_{zoo}", "autoencoder", "robustness", "{zoo}",
                      "robustness and smoothness (2022 Fig. 3)"),
    log:
        logfile("autoencoders/{zoo}/robustness"),
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
        trajectory=lambda wc: list(trajectory_epochs(config, wc.zoo)),
        robustness=config["robustness"],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/robustness.py"


rule cross_zoo_reconstruction:
    # 2022 Table 9: an autoencoder reconstructing the test split of another zoo
    input:
        autoencoders=[lwln_autoencoder(p["autoencoder"]) for p in CROSS_ZOO],
        zoos=[ZOO.format(zoo=p["zoo"]) for p in CROSS_ZOO],
        splits=[SPLIT.format(zoo=p["zoo"]) for p in CROSS_ZOO],
    output:
        table=table("2022_table9_cross_zoo_reconstruction", "autoencoder",
                    "cross_zoo_reconstruction", output="cross-zoo reconstruction (2022 Table 9)"),
        grid=table("2022_table9_cross_zoo_reconstruction_grid"),
    log:
        logfile("autoencoders/cross_zoo_reconstruction"),
    params:
        pairs=[dict(p, window=ae_window(p["autoencoder"])) for p in CROSS_ZOO],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/cross_zoo_reconstruction.py"


rule compression_ablation_autoencoder:
    # 2021 Table 5: one autoencoder per objective and compression ratio
    input:
        **zoo_of("{zoo}"),
    output:
        directory(ABLATION_MODEL),
    log:
        logfile("autoencoders/{zoo}/compression_ablation_{objective}_c{ratio}"),
    benchmark:
        benchfile("autoencoders/{zoo}/compression_ablation_{objective}_c{ratio}")
    params:
        autoencoder=ae_config,
        variant=ABLATION_VARIANT,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        mem_mb=autoencoder_mem_mb,
        runtime=autoencoder_runtime,
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/compression_ablation_autoencoder.py"


rule compression_ablation:
    # 2021 Table 5: the ablation's codes judged by reconstruction and linear probes
    input:
        **zoo_of("{zoo}"),
        autoencoders=lambda wc: [ABLATION_MODEL.format(zoo=wc.zoo, **r) for r in ABLATION_RUNS],
    output:
        table=table("2021_table5_compression_ablation_{zoo}", "autoencoder",
                    "compression_ablation", "{zoo}", "compression ratio ablation (2021 Table 5)"),
    log:
        logfile("autoencoders/{zoo}/compression_ablation"),
    params:
        runs=ABLATION_RUNS,
        window=lambda wc: ae_window(wc.zoo),
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/compression_ablation.py"


rule probe_transfer:
    # 2021 App. D.3 (Figs. 7-10): a zoo's probes on its own test split and on other zoos'
    input:
        **zoo_of("{zoo}"),
        autoencoder=lambda wc: lwln_autoencoder(wc.zoo),
        embeddings=lambda wc: EMBEDDINGS.format(zoo=wc.zoo, variant=lwln_variant(wc.zoo)),
        target_zoos=lambda wc: [ZOO.format(zoo=t) for t in PROBE_TRANSFER[wc.zoo]],
        target_splits=lambda wc: [SPLIT.format(zoo=t) for t in PROBE_TRANSFER[wc.zoo]],
    output:
        table=table("2021_appd3_probe_transfer_{zoo}", "autoencoder", "probe_transfer",
                    "{zoo}", "probes in and out of distribution (2021 App. D.3)"),
        figure=figure("2021_appd3_probe_transfer_{zoo}", "autoencoder", "probe_transfer",
                      "{zoo}", "probes in and out of distribution (2021 App. D.3)"),
    log:
        logfile("autoencoders/{zoo}/probe_transfer"),
    params:
        targets=lambda wc: PROBE_TRANSFER[wc.zoo],
        window=lambda wc: ae_window(wc.zoo),
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/probe_transfer.py"
