"""mmrest: the MMRest model, its trainer, studies over its hyperparameters, and reports."""
from mmrest.metrics import METRIC_NAMES, msa_metrics

__version__ = "0.1.0"

__all__ = ["METRIC_NAMES", "msa_metrics", "mmc_loss", "__version__"]


def __getattr__(name):
    # Lazy: `import mmrest` should not pay for torch unless the loss is used.
    if name == "mmc_loss":
        from mmrest.model.mmc import mmc_loss

        return mmc_loss
    raise AttributeError(name)
