"""A pytest plugin (registered through the ``pytest11`` entry point): the ``gateway_simulator`` fixture.

Any test suite in an environment where skat-gateway is installed can use it::

    def test_my_integration(gateway_simulator):
        with skat_gateway.Client.from_config(gateway_simulator.config_path) as client:
            ...

Each test gets its own simulator in its own temporary folder, stopped and removed afterwards.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from skat_gateway._native import Simulator


@pytest.fixture
def gateway_simulator() -> Iterator[Simulator]:
    """An in-process gateway simulator (``skat_gateway.Simulator``) for one test."""
    with Simulator() as sim:
        yield sim
