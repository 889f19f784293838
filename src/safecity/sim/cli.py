"""``safecity sim``: render the synthetic city to video files with ground truth.

Results (the files written) go to stdout, one path a line; progress to stderr.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from safecity.core.errors import InvalidInput

sim_app = typer.Typer(
    help="Synthetic city: rendered cameras with ground truth", no_args_is_help=True
)

_out = Console(soft_wrap=True, markup=False, highlight=False)
_err = Console(stderr=True, soft_wrap=True)


@sim_app.callback()
def _group() -> None:
    """Synthetic city: rendered cameras with ground truth."""
    # A callback keeps ``render`` a subcommand even while it is the only one.


@sim_app.command()
def render(
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same files")],
    duration: Annotated[float, typer.Option(help="Seconds of video per camera")],
    out: Annotated[Path, typer.Option(help="Folder for <camera>.mp4 and ground_truth.json")],
    cameras: Annotated[int, typer.Option(help="Cameras along the corridor")] = 4,
    width: Annotated[int, typer.Option(help="Frame width, pixels")] = 1280,
    height: Annotated[int, typer.Option(help="Frame height, pixels")] = 720,
    fps: Annotated[int, typer.Option(help="Frames per second")] = 15,
    lighting: Annotated[
        Literal["cycle", "day", "dusk", "night"],
        typer.Option(help="One lighting throughout, or cycle: day, dusk, then night"),
    ] = "cycle",
    view: Annotated[
        Literal["overview", "anpr"], typer.Option(help="Junction overview or zoomed ANPR view")
    ] = "overview",
    traffic: Annotated[float, typer.Option(help="Vehicles arriving per minute")] = 60.0,
) -> None:
    """Render SECONDS of every camera to H.264 files and write ground_truth.json."""
    from safecity.sim.render import GROUND_TRUTH_FILE, render_city

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_err,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def report(camera_id: str, done: int, total: int) -> None:
        if camera_id not in tasks:
            tasks[camera_id] = progress.add_task(camera_id, total=total)
        progress.update(tasks[camera_id], completed=done)

    try:
        with progress:
            truth = render_city(
                seed,
                duration,
                out,
                cameras=cameras,
                width=width,
                height=height,
                fps=fps,
                lighting=None if lighting == "cycle" else lighting,
                view=view,
                vehicles_per_minute=traffic,
                progress=report,
            )
    except InvalidInput as error:
        _err.print(f"[red]error:[/] {escape(error.message)}")
        raise typer.Exit(2) from error
    for camera in truth.cameras:
        _out.print(str(out / camera.file))
    _out.print(str(out / GROUND_TRUTH_FILE))
    _err.print(
        f"{len(truth.cameras)} cameras, {truth.frame_count} frames each, "
        f"{len(truth.vehicles)} vehicles, {len(truth.pedestrians)} pedestrians"
    )
