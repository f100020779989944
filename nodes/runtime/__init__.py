"""The machinery every cuecast process shares: bus sockets, publisher, subscriber, journal,
control endpoint, heartbeat, configuration and the run directory.

The bridge uses it too (it is a bus participant like any node); it never imports a node's domain
code (``nodes.vision``, ``nodes.core``, ``nodes.tap``).
"""

from __future__ import annotations

from nodes.runtime.bus import Bus
from nodes.runtime.config import CommonConfig, describe, load
from nodes.runtime.control import ControlClient, ControlServer, Result
from nodes.runtime.journal import Journal, Limits
from nodes.runtime.logs import setup_logging
from nodes.runtime.node import NodeRuntime, run_forever
from nodes.runtime.publisher import Publisher
from nodes.runtime.rundir import NodeRecord, RunDir, default_run_dir
from nodes.runtime.subscriber import Gap, Subscriber

__all__ = [
    "Bus",
    "CommonConfig",
    "ControlClient",
    "ControlServer",
    "Gap",
    "Journal",
    "Limits",
    "NodeRecord",
    "NodeRuntime",
    "Publisher",
    "Result",
    "RunDir",
    "Subscriber",
    "default_run_dir",
    "describe",
    "load",
    "run_forever",
    "setup_logging",
]
