"""The study report: numbers first, drawing second.

`compute` (the curve panels, facts) and `importance` turn a trial table and the study's facts
(`mmrest.trial_table`) into small records, with the final values from `mmrest.selection`;
`render` draws plotly figures of those records and `html` lays them out in one offline page
through the Jinja2 templates in `templates/`; `build.build_report` runs the lot and writes the page
and a CSV of every trial.
"""
