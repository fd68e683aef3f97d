"""The cluster path for real: a PostgreSQL server and a `ray start --head` that the tests start
and stop, a study run through the CLI against both, every trial in the stage's one study.
Also runs a TPE stage, whose sampled points repeat once per seed."""
from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

import optuna
import pytest
from optuna.trial import TrialState
from study_helpers import free_port, run_on_head, tiny_spec, write_spec

from mmrest.study.results import StudyResults

pytestmark = pytest.mark.slow

STAGES = [
    {"name": "coarse", "design": "one_at_a_time", "params": {"gamma": [0, 0.5]}},
    {"name": "search", "design": "tpe", "n_trials": 3,
     "ranges": {"k": {"low": 2, "high": 8}, "gamma": {"low": 0.001, "high": 1.0, "log": True}}},
]


def _pg_binary(name: str) -> str | None:
    # Debian keeps the server binaries off PATH, under /usr/lib/postgresql/<version>/bin.
    return shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)


@pytest.fixture
def postgres_url():
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    root = tempfile.mkdtemp(prefix="mmrest-pg-", dir="/tmp")
    run_as: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and no 'postgres' user to run the server as")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port, data = free_port(), f"{root}/data"
    subprocess.run([*run_as, initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    try:
        subprocess.run([*run_as, pg_ctl, "-D", data, "-l", f"{root}/server.log", "-w", "start",
                        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1"], check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*run_as, pg_ctl, "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_storage_and_an_external_ray_cluster(tmp_path, postgres_url, ray_head):
    spec = write_spec(tmp_path / "cluster.yaml", tiny_spec("cluster", stages=STAGES))
    studies = tmp_path / "studies"
    run = run_on_head("run", str(spec), "--studies-dir", str(studies),
                      "--set", f"storage={postgres_url}", "--ray-address", ray_head)
    assert run.returncode == 0, run.stdout + run.stderr

    storage = optuna.storages.RDBStorage(postgres_url)
    assert {s.study_name for s in storage.get_all_studies()} == {"cluster.coarse", "cluster.search"}
    coarse = optuna.load_study(study_name="cluster.coarse", storage=storage).trials
    search = optuna.load_study(study_name="cluster.search", storage=storage).trials
    assert len(coarse) == 6 and len(search) == 6  # 3 points x 2 seeds each
    assert all(t.state == TrialState.COMPLETE for t in coarse + search), [t.user_attrs.get('error') for t in coarse + search]

    points = defaultdict(list)
    for t in search:
        points[t.user_attrs["point"]].append(t)
        assert 2 <= t.params["k"] <= 8 and 0.001 <= t.params["gamma"] <= 1.0
        assert t.params["xi"] == 3.0  # not searched: the base value
    assert sorted(points) == [0, 1, 2]
    for trials in points.values():
        assert sorted(t.user_attrs["seed"] for t in trials) == [1, 2]
        assert trials[0].params == trials[1].params
    assert len({tuple(sorted(ts[0].params.items())) for ts in points.values()}) == 3

    assert not (studies / "cluster" / "optuna.journal").exists()
    status = subprocess.run([sys.executable, "-m", "mmrest.cli", "status", str(studies / "cluster"), "--json"],
                            capture_output=True, text=True, check=True)
    assert json.loads(status.stdout)["storage"] == postgres_url
    assert len(StudyResults.open(studies / "cluster").trials) == 12

    # The same name into the same database from another studies folder: refused, nothing run.
    again = run_on_head("run", str(spec), "--studies-dir", str(tmp_path / "other"),
                        "--set", f"storage={postgres_url}", "--ray-address", ray_head)
    assert again.returncode == 2 and "the storage already holds cluster.coarse, cluster.search" in again.stderr
    assert not (tmp_path / "other").exists()

