"""Fixtures of the chart tests: the chart is loaded once and each region rendered once."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import helm_python as helm
import pytest
from sluis_chart import CHART_DIR, REGIONS, Render, region_values, render


@pytest.fixture(scope="session")
def chart() -> Iterator[helm.Chart]:
    with helm.Chart.load(CHART_DIR) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def render_region(chart: helm.Chart) -> Callable[[str], Render]:
    """render_region("rotterdam"): that region's release, rendered once per session."""
    cache: dict[str, Render] = {}

    def get(region: str) -> Render:
        if region not in cache:
            cache[region] = render(chart, region_values(region), region)
        return cache[region]

    return get


@pytest.fixture(scope="session", params=REGIONS)
def rendered(request: pytest.FixtureRequest, render_region: Callable[[str], Render]) -> Render:
    """Each region's release in turn."""
    region: str = request.param
    return render_region(region)
