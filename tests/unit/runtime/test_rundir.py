"""Run directory records and endpoints."""

from __future__ import annotations

import os

from nodes.runtime.rundir import NodeRecord, RunDir


def record(name, pid):
    return NodeRecord(
        name=name,
        kind="k",
        pid=pid,
        host=os.uname().nodename,
        pub="ipc://p",
        control="ipc://c",
        started_ns=0,
        version="0",
    )


def test_records_round_trip_and_stale_ones_are_hidden(tmp_path):
    run = RunDir(tmp_path)
    run.write_record(record("live", os.getpid()))
    run.write_record(record("dead", 2**22 + 12345))
    assert set(run.records()) == {"live"}
    assert set(run.records(include_stale=True)) == {"live", "dead"}
    run.remove_record("live", os.getpid())
    assert run.records() == {}


def test_long_run_dirs_get_short_ipc_paths(tmp_path):
    deep = RunDir(tmp_path / ("x" * 120))
    endpoint = deep.ipc_endpoint("vision-cam0", "pub")
    assert len(endpoint) - len("ipc://") < 100
    assert deep.ipc_endpoint("vision-cam0", "pub") == endpoint
