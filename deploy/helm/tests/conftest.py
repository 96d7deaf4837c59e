"""Fixtures of the chart tests: the chart is loaded once and each region rendered once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import helm_python as helm
import pytest
from sluis_chart import CHART_DIR, REGIONS, Render, federation_values, region_values, render


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


def _once_per_region(
    chart: helm.Chart, values_of: Callable[[str], dict[str, Any]]
) -> Callable[[str], Render]:
    cache: dict[str, Render] = {}

    def get(region: str) -> Render:
        if region not in cache:
            cache[region] = render(chart, values_of(region), region)
        return cache[region]

    return get


@pytest.fixture(scope="session")
def render_region(chart: helm.Chart) -> Callable[[str], Render]:
    """render_region("rotterdam"): that region's release, rendered once per session."""
    return _once_per_region(chart, region_values)


@pytest.fixture(scope="session")
def render_federated(chart: helm.Chart) -> Callable[[str], Render]:
    """The same with the region's peering switched on (values-federation-<region>.yaml)."""
    return _once_per_region(chart, federation_values)


@pytest.fixture(scope="session", params=REGIONS)
def rendered(request: pytest.FixtureRequest, render_region: Callable[[str], Render]) -> Render:
    """Each region's release in turn."""
    region: str = request.param
    return render_region(region)
