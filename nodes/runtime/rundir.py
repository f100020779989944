"""The run directory: where a system's processes find each other and keep their data.

Processes started with the same run dir form one system (DESIGN.md §1)::

    <run dir>/
      nodes/<name>.json     one file per running node: kind, pid, host, endpoints
      data/<name>/          a node's data (journal.sqlite3, calibration, recordings)
      sock/                 ipc endpoints (or /tmp/cuecast-<hash>/ when the path is too long)
      logs/                 process logs written by ``cuecast up``

Node files are written atomically and removed on a clean stop. A file whose process is gone
(same host, dead pid) is stale and ignored by readers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

log = logging.getLogger(__name__)

#: Linux limits a unix socket path to 107 bytes; keep a margin.
_MAX_IPC_PATH: Final = 100


def default_run_dir() -> Path:
    """``$CUECAST_RUN_DIR``, else ``$XDG_STATE_HOME/cuecast``, else ``~/.local/state/cuecast``."""
    env = os.environ.get("CUECAST_RUN_DIR")
    if env:
        return Path(env)
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "cuecast"


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """What a running node tells the others about itself."""

    name: str
    kind: str
    pid: int
    host: str
    pub: str
    control: str
    started_ns: int
    version: str

    def is_stale(self) -> bool:
        """True if the node ran on this host and its process is gone."""
        return self.host == socket.gethostname() and not pid_alive(self.pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (zombies count as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


class RunDir:
    """Paths and node records of one run directory."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().absolute()

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def nodes_dir(self) -> Path:
        """Directory of node records."""
        return self.path / "nodes"

    @property
    def logs_dir(self) -> Path:
        """Directory of process logs."""
        return self.path / "logs"

    def data_dir(self, node: str) -> Path:
        """A node's data directory (created)."""
        path = self.path / "data" / node
        path.mkdir(parents=True, exist_ok=True)
        return path

    def sock_dir(self) -> Path:
        """Directory for ipc sockets; a short /tmp path if the run dir is too deep."""
        path = self.path / "sock"
        if len(str(path)) + 40 > _MAX_IPC_PATH:
            digest = hashlib.sha1(str(self.path).encode()).hexdigest()[:12]  # noqa: S324
            path = Path(tempfile.gettempdir()) / f"cuecast-{digest}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def ipc_endpoint(self, node: str, kind: str) -> str:
        """Default ipc endpoint of a node's socket (``kind`` is ``pub`` or ``ctl``)."""
        return f"ipc://{self.sock_dir() / f'{node}.{kind}'}"

    def write_record(self, record: NodeRecord) -> None:
        """Publish this node's record (atomically)."""
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        target = self.nodes_dir / f"{record.name}.json"
        tmp = target.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(asdict(record), indent=1))
        os.replace(tmp, target)

    def remove_record(self, name: str, pid: int) -> None:
        """Remove a node's record if it is still ours."""
        record = self.read_record(name)
        if record is not None and record.pid == pid:
            (self.nodes_dir / f"{name}.json").unlink(missing_ok=True)

    def read_record(self, name: str) -> NodeRecord | None:
        """The record of ``name``, or None if absent or unreadable."""
        try:
            data = json.loads((self.nodes_dir / f"{name}.json").read_text())
            return NodeRecord(**data)
        except (OSError, ValueError, TypeError):
            return None

    def records(self, *, include_stale: bool = False) -> dict[str, NodeRecord]:
        """Every readable node record, by name."""
        found: dict[str, NodeRecord] = {}
        if not self.nodes_dir.is_dir():
            return found
        for path in sorted(self.nodes_dir.glob("*.json")):
            record = self.read_record(path.stem)
            if record is not None and (include_stale or not record.is_stale()):
                found[record.name] = record
        return found
