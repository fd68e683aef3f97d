"""optuna-dashboard on a study's storage, bound to 127.0.0.1 (the storage may hold private
results, and the dashboard has no authentication)."""
from __future__ import annotations

from typing import TextIO

from mmrest.study.folder import StudyFolder
from mmrest.study.storage import open_storage, storage_url

HOST = "127.0.0.1"


def serve(folder: StudyFolder, port: int, out: TextIO) -> None:
    """Print the URL, then serve until interrupted."""
    from optuna_dashboard import run_server

    spec = folder.read_spec()
    url = storage_url(spec, folder)
    storage = open_storage(url, where=f"{folder.spec_file}: storage")
    print(f"optuna-dashboard for study {spec.name} ({url}): http://{HOST}:{port}/  (Ctrl-C stops it)",
          file=out, flush=True)
    try:
        run_server(storage, host=HOST, port=port)
    except KeyboardInterrupt:
        print("optuna-dashboard stopped", file=out)
