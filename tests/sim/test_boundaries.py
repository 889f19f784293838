"""The simulator stays in the data plane and loads its heavy libraries only when it renders."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from safecity.sim.render import city_options

SIM = Path(__file__).resolve().parents[2] / "src" / "safecity" / "sim"
# rtsp.py, its server and the solar gateways belong to other work; this suite covers the city.
CITY_MODULES = sorted(
    p.stem
    for p in SIM.glob("*.py")
    if p.stem not in {"__init__", "rtsp", "rtsp_server_main", "gateways", "solar"}
)
CONTROL_PLANE = (
    "safecity.db",
    "safecity.audit",
    "safecity.identity",
    "safecity.registry",
    "safecity.web",
)


def _modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_city_never_imports_the_control_plane() -> None:
    loaded = _modules_after("\n".join(f"import safecity.sim.{name}" for name in CITY_MODULES))
    assert {f"safecity.sim.{name}" for name in CITY_MODULES} <= loaded
    assert not [m for m in loaded if m.startswith(CONTROL_PLANE)]


@pytest.mark.parametrize(
    "module", ["safecity.sim", "safecity.sim.cli", "safecity.sim.render", "safecity.sim.truth"]
)
def test_importing_loads_neither_opencv_nor_pyav(module: str) -> None:
    loaded = _modules_after(f"import {module}")
    assert "cv2" not in loaded
    assert "av" not in loaded


def test_ground_truth_alone_needs_neither(tmp_path: Path) -> None:
    loaded = _modules_after(
        "from safecity.sim.render import simulate_truth, city_options\n"
        "simulate_truth(city_options(1, 2.0, cameras=2, fps=5))"
    )
    assert "cv2" not in loaded
    assert "av" not in loaded


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"duration": 0.0}, "duration"),
        ({"fps": 0}, "fps"),
        ({"width": 641}, "width"),
        ({"height": 100, "width": 640}, "height"),
        ({"cameras": 0}, "cameras"),
        ({"seed": -1}, "seed"),
    ],
)
def test_nonsense_options_are_refused(changes: dict[str, float], field: str) -> None:
    from safecity.core.errors import InvalidInput

    arguments: dict[str, float] = {"seed": 1, "duration": 5.0, **changes}
    seed, duration = int(arguments.pop("seed")), arguments.pop("duration")
    with pytest.raises(InvalidInput) as raised:
        city_options(seed, duration, **{k: int(v) for k, v in arguments.items()})  # type: ignore[arg-type]
    assert raised.value.field == field
