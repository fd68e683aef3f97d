"""The study report: numbers first, drawing second.

`table` checks the trials table and facts (the contract with `mmrest.study.results`) and selects
rows; `compute`, `choice` (with the rules of `rules`) and `importance` turn them into small
records; `render` draws plotly figures of those records and `html` lays them out in one offline
page; `build.build_report` runs the lot and writes the page and a CSV of every trial.
"""
