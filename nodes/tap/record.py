"""stub"""

from __future__ import annotations

import argparse
from typing import Any


def register(verbs: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add nothing yet."""
