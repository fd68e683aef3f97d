"""optuna-dashboard on a study's storage, bound to 127.0.0.1 (the storage may hold private
results, and the dashboard has no authentication)."""
from __future__ import annotations

from typing import TextIO

from mmrest.study.results import StudyResults

HOST = "127.0.0.1"


def serve(results: StudyResults, port: int, out: TextIO) -> None:
    """Print the URL, then serve the study's storage until interrupted."""
    from optuna_dashboard import run_server

    print(f"optuna-dashboard for study {results.spec.name} ({results.storage_url}): http://{HOST}:{port}/  "
          "(Ctrl-C stops it)", file=out, flush=True)
    try:
        run_server(results.storage, host=HOST, port=port)
    except KeyboardInterrupt:
        print("optuna-dashboard stopped", file=out)
