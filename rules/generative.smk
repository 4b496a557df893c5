# Stage 3: generative evaluation (2022), for the zoos the config names (generative.in_dataset
# and the transfer pairs' sources). Per source zoo, every population (samplers and baselines)
# as zoos; per (source, target) pair, all populations fine-tuned in one vectorised run with the
# target zoo's hyperparameters; ensembles in-dataset; the paper's tables and figures from all
# pairs; Fig. 6, Tables 3 and 4.


rule weight_alignment:
    # issue 32: the training models at the window's end aligned by weight matching (Git
    # Re-Basin's MergeMany), the parents of the weight-space populations
    input:
        **zoo_of("{zoo}"),
    output:
        data=directory(ALIGNED),
        table=table("weight_alignment_{zoo}", "generative", "weight_alignment", "{zoo}",
                    "mean pairwise L2 of the training models before and after alignment"),
    log:
        logfile("generative/{zoo}/weight_alignment"),
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
        rounds=config["generative"]["mixing"]["alignment_rounds"],
        seed=config["generative"]["seed"],
    conda:
        ENV
    script:
        "../workflow/scripts/weight_alignment.py"


rule generalisation_check:
    # issue 32: W_Mix2 fitted on two disjoint halves of the training models, drawn from the
    # same seeds (Kadkhodaie et al. 2024)
    input:
        **zoo_of("{zoo}"),
        aligned=ALIGNED,
    output:
        table("generalisation_{zoo}", "generative", "generalisation_check", "{zoo}",
              "W_Mix2 fitted on disjoint halves, drawn from the same seeds"),
    log:
        logfile("generative/{zoo}/generalisation_check"),
    params:
        mixing=config["generative"]["mixing"],
        n=config["novelty_frontier"]["n_models"],
        seed=config["generative"]["seed"],
        window=lambda wc: ae_window(wc.zoo),
        data=DATA,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/generalisation_check.py"


rule sample_populations:
    input:
        **zoo_of("{zoo}"),
        autoencoders=ae_dirs,
        embeddings=ae_embeddings,
        aligned=lambda wc: [ALIGNED.format(zoo=wc.zoo)] if MIXING_POPULATIONS else [],
    output:
        directory(POPULATIONS),
    log:
        logfile("generative/{zoo}/sample_populations"),
    params:
        generative=config["generative"],
        # the novelty frontier measures more models than are fine-tuned: one draw for both
        frontier_models=(config["novelty_frontier"]["n_models"]
                         if config["novelty_frontier"]["enabled"] else 0),
        # N_noise_QD is noise built as the frontier's raw curve
        sigmas=config["novelty_frontier"]["sigmas"],
        window=lambda wc: ae_window(wc.zoo),
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/sample_populations.py"


rule novelty_frontier:
    # the 2025 memorisation audit's axes at epoch 0 (issue 22): every population, the zoo's own
    # models and the noise curves, each population against the curves at equal novelty
    input:
        **zoo_of("{zoo}"),
        populations=POPULATIONS,
        autoencoder=lambda wc: lwln_autoencoder(wc.zoo),
        embeddings=lambda wc: EMBEDDINGS.format(zoo=wc.zoo, variant=lwln_variant(wc.zoo)),
        # generated models from elsewhere, placed beside the run's own (novelty_frontier.audit)
        audited=lambda wc: [e["path"] for e in AUDITED if e["zoo"] == wc.zoo],
    output:
        data=directory(NOVELTY_FRONTIER),
        table=table("2025_novelty_frontier_{zoo}", "generative", "novelty_frontier", "{zoo}",
                    "accuracy against novelty, populations vs noise (2025 audit Fig. 6a)"),
        figure=figure("2025_fig6a_novelty_frontier_{zoo}", "generative", "novelty_frontier",
                      "{zoo}", "accuracy against novelty (2025 audit Fig. 6a)"),
    log:
        logfile("generative/{zoo}/novelty_frontier"),
    params:
        settings=config["novelty_frontier"],
        audit=lambda wc: [e for e in AUDITED if e["zoo"] == wc.zoo],
        top_fraction=config["generative"]["top_fraction"],
        window=lambda wc: ae_window(wc.zoo),
        n_classes=lambda wc: n_classes([wc.zoo])[wc.zoo],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/novelty_frontier.py"


rule finetune_populations:
    input:
        populations=POPULATIONS.format(zoo="{source}"),
        source_zoo=ZOO.format(zoo="{source}"),
        source_split=SPLIT.format(zoo="{source}"),
        target_zoo=ZOO.format(zoo="{target}"),
        target_split=SPLIT.format(zoo="{target}"),
    output:
        zoo=directory(FINETUNED_ZOO),
        accuracy=FINETUNE_ACCURACY,
        info=FINETUNE_INFO,
    log:
        logfile("generative/{source}/finetune_{target}"),
    benchmark:
        benchfile("finetune/{source}/{target}")
    params:
        target=lambda wc: ZOOS[wc.target],
        epochs=lambda wc: finetune_epochs(config, wc.source, wc.target),
        seed=config["generative"]["seed"],
        window=lambda wc: ae_window(wc.source),
        # training state after every epoch: a killed job resumes where it stopped
        resume=f"{RESULTS}/finetune/{{source}}/{{target}}/resume.safetensors",
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
        mem_mb=finetune_mem_mb,
        runtime=finetune_runtime,
    conda:
        ENV
    script:
        "../workflow/scripts/finetune_populations.py"


rule ensembles:
    # 2022 Fig. 5: ensembles of 1..K models per population
    input:
        finetuned=FINETUNED_ZOO.format(source="{zoo}", target="{zoo}"),
        info=FINETUNE_INFO.format(source="{zoo}", target="{zoo}"),
        target_zoo=ZOO,
        target_split=SPLIT,
    output:
        ENSEMBLES,
    log:
        logfile("generative/{zoo}/ensembles"),
    params:
        ensembles=config["generative"]["ensembles"],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow/scripts/ensembles.py"


rule generative_tables:
    # 2022 Tables 1, 2, 10-13 (and the pre-training workshop paper's Table 5), Figs. 4, 5, 7,
    # 14-21 and the latent-GAN losses, from every fine-tuning run
    input:
        accuracy=[FINETUNE_ACCURACY.format(source=s, target=t) for s, t in PAIRS],
        populations=[POPULATIONS.format(zoo=s) for s in SOURCES],
        ensembles=[ENSEMBLES.format(zoo=s) for s, t in PAIRS if s == t],
    output:
        in_dataset=table("2022_table1_in_dataset", "generative", "generative_tables",
                         output="in-dataset populations (2022 Table 1)"),
        transfer=table("2022_table2_transfer", "generative", "generative_tables",
                       output="transfer (2022 Table 2)"),
        median_ci=table("2022_tables10_12_median_ci", "generative", "generative_tables",
                        output="median and bootstrapped CI (2022 Tables 10, 12)"),
        mwu=table("2022_tables11_13_mwu_cles", "generative", "generative_tables",
                  output="Mann-Whitney U and CLES (2022 Tables 11, 13)"),
        summary=f"{RESULTS}/tables/population_summary.csv",
        figures=report(directory(f"{RESULTS}/figures/generative"),
                       caption="../report/generative_tables.rst",
                       category=CATEGORIES["generative"], patterns=["{name}.png"],
                       labels={"zoo": "all", "output": "{name}"}),
    log:
        logfile("generative/generative_tables"),
    params:
        # per pair: fine-tuning epochs, the (epoch, reference_epoch) comparisons, and the
        # source autoencoder window's last epoch (where in-dataset samples sit on B_T's axis)
        pairs=[dict(source=s, target=t, epochs=finetune_epochs(config, s, t),
                    comparisons=comparisons(config, s, t), offset=ae_window(s)[1])
               for s, t in PAIRS],
        n_classes=n_classes(ZOOS),
    conda:
        ENV
    script:
        "../workflow/scripts/generative_tables.py"


rule reconstructed_finetuning:
    # 2022 Fig. 6: test models and their reconstructions fine-tuned side by side
    input:
        **zoo_of("{zoo}"),
        autoencoder=lambda wc: lwln_autoencoder(wc.zoo),
    output:
        table=table("2022_fig6_reconstructed_finetuning_{zoo}", "generative",
                    "reconstructed_finetuning", "{zoo}",
                    "reconstructed vs original fine-tuned (2022 Fig. 6)"),
        figure=figure("2022_fig6_reconstructed_finetuning_{zoo}", "generative",
                      "reconstructed_finetuning", "{zoo}",
                      "reconstructed vs original fine-tuned (2022 Fig. 6)"),
    log:
        logfile("generative/{zoo}/reconstructed_finetuning"),
    params:
        epoch=lambda wc: ae_window(wc.zoo)[1],
        epochs=config["generative"]["finetune_epochs"],
        seed=config["generative"]["seed"],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/reconstructed_finetuning.py"


rule unseen_zoos:
    # 2022 Table 3, one pair: zoo {source}'s autoencoder samples for zoo {target}
    input:
        autoencoder=lambda wc: lwln_autoencoder(wc.source),
        **zoo_of("{target}"),
    output:
        directory(UNSEEN_ZOO_RUN),
    log:
        logfile("generative/{source}/unseen_zoos_{target}"),
    params:
        window=lambda wc: ae_window(wc.source),
        generative=config["generative"],
        unseen_zoos=config["unseen_zoos"],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/unseen_zoos.py"


rule unseen_zoos_table:
    input:
        [UNSEEN_ZOO_RUN.format(source=p["autoencoder"], target=p["zoo"]) for p in UNSEEN_ZOOS],
    output:
        table=table("2022_table3_unseen_zoos", "generative", "unseen_zoos",
                    output="unseen zoos (2022 Table 3)"),
    log:
        logfile("generative/unseen_zoos_table"),
    conda:
        ENV
    script:
        "../workflow/scripts/unseen_zoos_table.py"


rule unseen_architectures:
    # 2022 Table 4, one run: zoo {source}'s samples initialise {architecture} on zoo {target}
    input:
        populations=POPULATIONS.format(zoo="{source}"),
        target_zoo=ZOO.format(zoo="{target}"),
    output:
        UNSEEN_ARCH_RUN,
    log:
        logfile("generative/{source}/unseen_architectures_{target}_{architecture}"),
    params:
        epochs=UNSEEN_ARCH["epochs"],
        seed=config["generative"]["seed"],
        data=DATA,
        device=DEVICE,
        threads=THREADS,
    threads: THREADS
    resources:
        gpu=GPU,
    conda:
        ENV
    script:
        "../workflow/scripts/unseen_architectures.py"


rule unseen_architectures_table:
    input:
        [UNSEEN_ARCH_RUN.format(source=s, target=t, architecture=a) for s, t, a in UNSEEN_ARCH_RUNS],
    output:
        table=table("2022_table4_unseen_architectures", "generative", "unseen_architectures",
                    output="unseen architectures (2022 Table 4)"),
        stats=table("2022_table4_unseen_architectures_stats"),
        figure=figure("2022_table4_unseen_architectures", "generative", "unseen_architectures",
                      output="unseen architectures (2022 Table 4)"),
    log:
        logfile("generative/unseen_architectures_table"),
    params:
        epochs=sorted(UNSEEN_ARCH["epochs"]),
    conda:
        ENV
    script:
        "../workflow/scripts/unseen_architectures_table.py"


rule export_population:
    # a population as sampled, out as ordinary PyTorch, its accuracy measured (issue 23)
    input:
        populations=POPULATIONS,
        zoo=ZOO,
    output:
        directory(EXPORTED_POPULATION),
    log:
        logfile("generative/{zoo}/export_{population}"),
    params:
        data=DATA,
        device=DEVICE,
    conda:
        ENV
    script:
        "../workflow/scripts/export_population.py"
