"""Train one hyper-representation autoencoder (one zoo, one variant) and save it."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir)))  # noqa: F821
from _common import setup_logging  # noqa: E402

from hyperreps.autoencoder.io import save_autoencoder  # noqa: E402
from hyperreps.autoencoder.train import settings_from_config, train_autoencoder  # noqa: E402
from hyperreps.device import resolve_device, set_cpu_threads  # noqa: E402
from hyperreps.zoo import checkpoint_sets, load_zoo  # noqa: E402

log = setup_logging(snakemake)  # noqa: F821
set_cpu_threads(snakemake.threads)  # noqa: F821
device = resolve_device(snakemake.config["device"])  # noqa: F821
variant = snakemake.params.variant  # noqa: F821
arch, settings, window = settings_from_config(snakemake.params.autoencoder, variant)  # noqa: F821
zoo = load_zoo(snakemake.input.zoo)  # noqa: F821
split = json.loads(Path(snakemake.input.split).read_text())  # noqa: F821
data = checkpoint_sets(zoo, split, window)
log.info("%s %s on %s: %s checkpoints of epochs %d-%d", snakemake.wildcards.zoo, variant,  # noqa: F821
         device, {k: len(v) for k, v in data.items()}, *window)
trained = train_autoencoder(data, zoo.layout, arch, settings, device, progress=True)
save_autoencoder(snakemake.output[0], trained,  # noqa: F821
                 {"zoo": snakemake.wildcards.zoo, "variant": variant, "window": list(window),  # noqa: F821
                  "dataset": zoo.dataset, "device": str(device)})
m = trained.metrics
log.info("best epoch %d; R² %s; %.1f checkpoints/s", m["best_epoch"],
         {k: round(v["overall"], 4) for k, v in m["r2"].items()}, m["checkpoints_per_second"])
