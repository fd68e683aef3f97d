"""The Ray runtime of a run: a local one started and stopped here, or an existing cluster joined
(a cluster with token authentication, Ray's default, needs RAY_AUTH_MODE=token in the driver's
environment).

A driver killed with SIGKILL cannot stop the local runtime it started, and some of Ray's agent
processes outlive it (measured with Ray 2.60). The driver therefore records its runtime's session
folder, and the next driver of the same study stops whatever still holds files there.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import time
from pathlib import Path

import ray

from mmrest.errors import InputError
from mmrest.study.folder import process_alive


def check_address(address: str | None, *, where: str, timeout_s: float = 5.0) -> None:
    """Fail fast, before anything is written, when nothing listens at a host:port address
    ("auto" and a missing address are left to Ray)."""
    if address in (None, "auto"):
        return
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise InputError(f"{where} = {address!r}: expected host:port, ray://host:port or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise InputError(f"{where} = {address!r}: no Ray cluster answers there ({err.strerror or err}); "
                         "start one with `ray start --head` or fix the address") from None


def start_ray(address: str | None, *, num_gpus: float | None = None) -> str | None:
    """Start a local runtime (address None; `num_gpus` declares its GPUs, where Ray cannot detect
    them or a test needs them) or join `address`; returns the session folder of a runtime started
    here, None for a joined cluster."""
    quiet = dict(log_to_driver=False, logging_level=logging.WARNING, include_dashboard=False)
    if address is None:
        context = ray.init(num_gpus=num_gpus, **quiet)
        return context.address_info["session_dir"]
    quiet.pop("include_dashboard")
    ray.init(address=address, **quiet)
    return None


def stop_ray() -> None:
    ray.shutdown()


def reap_orphans(session_dir: str, *, grace_s: float = 5.0) -> list[int]:
    """Stop the processes still holding files of a dead driver's local Ray session; returns their pids."""
    pids = session_processes(session_dir)
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
        time.sleep(0.2)
    for pid in pids:
        if process_alive(pid):
            _signal(pid, signal.SIGKILL)
    return pids


def session_processes(session_dir: str) -> list[int]:
    """Pids of this user's processes with an open file in the folder `session_dir` or below it
    (Linux /proc). The folder must match whole: session_1 is not session_10."""
    root = Path("/proc")
    if not root.is_dir() or not session_dir:
        return []
    folder = os.path.normpath(session_dir)
    found = []
    for entry in root.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if any(_inside(os.readlink(fd), folder) for fd in (entry / "fd").iterdir()):
                found.append(int(entry.name))
        except OSError:
            continue  # not ours to read, or gone meanwhile
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + os.sep)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
