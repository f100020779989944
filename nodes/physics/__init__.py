"""Pool physics: event-based, closed-form ball motion on a pocket table (numpy only, no I/O).

Used by the core node (shot prediction) and the synthetic camera (ball positions per frame).
See docs/physics.md for the model, constants, sources and conventions.
"""

from nodes.physics.ball import Ball, BallAt
from nodes.physics.constant import Physics
from nodes.physics.event import Event
from nodes.physics.shot import strike
from nodes.physics.simulation import Simulation, simulate
from nodes.physics.table import Cushion, JawTip, Pocket, PocketSpec, Table

__all__ = [
    "Ball",
    "BallAt",
    "Cushion",
    "Event",
    "JawTip",
    "Physics",
    "Pocket",
    "PocketSpec",
    "Simulation",
    "Table",
    "simulate",
    "strike",
]
