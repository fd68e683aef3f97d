"""The curve figures place their vertical lines and notes in one layout update; what lands in the
figure is what plotly's own add_vline and add_annotation give, panel by panel."""
import pytest
from plotly.subplots import make_subplots

from mmrest.report.curve_figures import _Figure

LINE = dict(color="#d62728", dash="dash", width=1.5)


def _grid():
    return make_subplots(rows=3, cols=2, row_titles=["a", "b", "c"], column_titles=["k", "gamma"])


@pytest.mark.parametrize("row, col", [(1, 1), (2, 2), (3, 1)])
def test_batched_marks_equal_plotlys_own_calls(row, col):
    ours, theirs = _Figure(_grid(), "valid"), _grid()

    ours.vline(0.5, row, col, line=LINE)
    ours.note(row, col, text="differs, p = 0.01", x=0.02, y=0.98, xref="x domain", yref="y domain", showarrow=False)
    ours.note(row, col, x=0.5, y=0.0, yref="y domain", text="paper", showarrow=False, xshift=3)
    ours.place_marks()

    theirs.add_vline(x=0.5, row=row, col=col, exclude_empty_subplots=False, line=LINE)
    theirs.add_annotation(text="differs, p = 0.01", x=0.02, y=0.98, xref="x domain", yref="y domain",
                          showarrow=False, row=row, col=col)
    theirs.add_annotation(x=0.5, y=0.0, yref="y domain", text="paper", showarrow=False, xshift=3, row=row, col=col)

    assert ours.fig.to_plotly_json()["layout"] == theirs.to_plotly_json()["layout"]
    # The titles make_subplots wrote stay first.
    assert [a["text"] for a in ours.fig.layout.annotations][:5] == ["k", "gamma", "a", "b", "c"]


def test_placing_twice_keeps_what_the_first_placed():
    ours = _Figure(_grid(), "valid")
    ours.vline(1.0, 1, 1, line=LINE)
    ours.place_marks()
    ours.vline(2.0, 2, 1, line=LINE)
    ours.place_marks()
    assert [(s.x0, s.xref) for s in ours.fig.layout.shapes] == [(1.0, "x"), (2.0, "x3")]
