"""Choosing final hyperparameter values from a study's trials, on validation metrics only.

`rules` holds the documented multi-metric rules, `rows` which trials inform a hyperparameter,
`choice` the choice itself (value, runner-up, dissenting metrics beside the seed noise). The
report, `status` and `analyze` (which analyses the chosen configuration) call `choose_for_study`;
none computes anything else to get it.

The names below load their module on first use: the command line reads the rules' names for its
--help, and should not pay for pandas to print it.
"""
from mmrest.lazy import lazy_exports

_EXPORTS = {
    "choice": ("Choice", "Choices", "Disagreement", "choose", "choose_for_study", "config_yaml"),
    "rules": ("DEFAULT_RULE", "RULES", "Rule", "get_rule"),
}
__all__, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
