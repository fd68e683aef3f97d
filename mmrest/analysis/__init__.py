"""The supplement's analyses of one configuration: ablations, variance (Table 6), case study (Table 7).

Compute functions (`ablation`, `variance`, `case_study`, combined by `summary.compute_analysis`)
are pure and return small records; `outputs` reads what a trial saved, `store` keeps the result
as JSON in the study folder, and `mmrest.report` draws it.
"""
