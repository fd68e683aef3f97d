"""Choosing final hyperparameter values from a study's trials, on validation metrics only.

`rules` holds the documented multi-metric rules, `rows` which trials inform a hyperparameter,
`choice` the choice itself (value, runner-up, dissenting metrics beside the seed noise). Both the
report and `analyze` (which analyses the chosen configuration) call `choose`; neither computes
anything else to get it.
"""
from mmrest.selection.choice import Choice, Choices, Disagreement, choose, config_yaml
from mmrest.selection.rules import DEFAULT_RULE, RULES, Rule, get_rule

__all__ = ["DEFAULT_RULE", "RULES", "Choice", "Choices", "Disagreement", "Rule", "choose", "config_yaml", "get_rule"]
