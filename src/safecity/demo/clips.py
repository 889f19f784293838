"""The demo's camera clips: rendered once by the simulator, kept in the data folder.

Rendering a first start's clips takes about a minute of CPU. It runs in child
processes (``python -m safecity.sim render``), one per view, so the web server of the
same process answers meanwhile and a stop ends the rendering at once. A clip folder
counts only when complete: the children write to a ``.partial`` folder that is renamed
when they finish, so an interrupted first start renders again instead of serving half
a clip or no ground truth.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from safecity.sim.truth import CameraView

log = logging.getLogger(__name__)

CLIP_SECONDS = 120
CLIP_SEED = 7
CLIP_FPS = 10
VIEW_SIZES: dict[CameraView, tuple[int, int]] = {"anpr": (1280, 720), "overview": (640, 360)}
GROUND_TRUTH = "ground_truth.json"
_STOP_GRACE_SECONDS = 5.0


class RenderFailed(RuntimeError):
    """A render child exited with an error (its output is in the message)."""


@dataclass(frozen=True)
class DemoClip:
    """One simulated camera's clip and how it was rendered."""

    path: Path
    view: CameraView
    width: int
    height: int


@dataclass(frozen=True)
class ClipSet:
    """``count`` clips of one view: where they live and whether they are there."""

    data_dir: Path
    view: CameraView
    count: int
    seconds: int = CLIP_SECONDS

    @property
    def size(self) -> tuple[int, int]:
        return VIEW_SIZES[self.view]

    @property
    def folder(self) -> Path:
        width, height = self.size
        name = f"seed{CLIP_SEED}-{self.view}-{self.count}cams-{width}x{height}-{self.seconds}s"
        return self.data_dir / "sim" / name

    @property
    def ground_truth(self) -> Path:
        return self.folder / GROUND_TRUTH

    def clips(self) -> list[DemoClip]:
        """The rendered clips, or none when the set is incomplete."""
        width, height = self.size
        paths = sorted(self.folder.glob("*.mp4"))
        if len(paths) < self.count or not self.ground_truth.exists():
            return []
        return [DemoClip(path, self.view, width, height) for path in paths[: self.count]]

    def render_command(self, out: Path) -> list[str]:
        width, height = self.size
        return [
            sys.executable,
            "-m",
            "safecity.sim",
            "render",
            f"--seed={CLIP_SEED}",
            f"--duration={self.seconds}",
            f"--out={out}",
            f"--cameras={self.count}",
            f"--width={width}",
            f"--height={height}",
            f"--fps={CLIP_FPS}",
            f"--view={self.view}",
        ]


def demo_clip_sets(data_dir: Path, count: int) -> list[ClipSet]:
    """Half the cameras (the first, when odd) zoomed on the lanes for number plates, the
    rest overlooking the junction.

    An overview at 640x360 shows plates 3-9 px high, which nothing reads; the ANPR
    view at 1280x720 shows them at about 20 px, as a real ANPR camera would."""
    sets = [ClipSet(data_dir, "anpr", (count + 1) // 2)]
    if count > 1:
        sets.append(ClipSet(data_dir, "overview", count // 2))
    return sets


class ClipRenderer:
    """Renders the missing clip sets in child processes, all at once; ``cancel`` (from
    another thread) ends them."""

    def __init__(self, sets: Sequence[ClipSet]) -> None:
        self._sets = list(sets)
        self._lock = threading.Lock()
        self._children: list[subprocess.Popen[bytes]] = []
        self._cancelled = False

    def missing(self) -> list[ClipSet]:
        return [clip_set for clip_set in self._sets if not clip_set.clips()]

    def render(self) -> bool:
        """Render what is missing; False if cancelled. Raises ``RenderFailed``."""
        jobs: list[tuple[ClipSet, Path, subprocess.Popen[bytes]]] = []
        with self._lock:
            if self._cancelled:
                return False
            for clip_set in self.missing():
                width, height = clip_set.size
                log.info(
                    "rendering %d simulated %s camera clip(s) at %dx%d, %d s each "
                    "(first start only, kept in %s)",
                    clip_set.count,
                    clip_set.view,
                    width,
                    height,
                    clip_set.seconds,
                    clip_set.folder,
                )
                partial = clip_set.folder.with_name(clip_set.folder.name + ".partial")
                shutil.rmtree(partial, ignore_errors=True)
                child = subprocess.Popen(
                    clip_set.render_command(partial),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                self._children.append(child)
                jobs.append((clip_set, partial, child))
        for clip_set, partial, child in jobs:
            _, stderr = child.communicate()
            if self.is_cancelled():
                return False
            if child.returncode != 0:
                detail = stderr.decode(errors="replace").strip()[-2000:]
                raise RenderFailed(
                    f"rendering the demo's {clip_set.view} clips failed "
                    f"(exit {child.returncode}): {detail}"
                )
            shutil.rmtree(clip_set.folder, ignore_errors=True)
            partial.rename(clip_set.folder)
        return True

    def is_cancelled(self) -> bool:
        with self._lock:
            return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            children = list(self._children)
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=_STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
