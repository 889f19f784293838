"""Builds ``GroundTruth`` from the views each camera drew, frame by frame."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import overload

from safecity.sim.counter import (
    BLOCKS_PER_HEIGHT,
    DATA_BITS,
    overlay_extent,
    pattern_description,
)
from safecity.sim.geometry import bounding_box, geo_offset
from safecity.sim.scene import (
    CORRIDOR_BEARING_DEG,
    CORRIDOR_ORIGIN,
    LANE_COUNT,
    LANE_WIDTH_M,
    CameraSite,
    City,
    Vehicle,
    keyframe_interval,
    lane_centre,
)
from safecity.sim.truth import (
    Appearance,
    Box,
    CameraTruth,
    FrameCounterTruth,
    GeoPoint,
    GroundTruth,
    Lane,
    LightingPeriod,
    PedestrianTruth,
    Phase,
    PlateEffects,
    PlateSample,
    Road,
    SignalTruth,
    VehicleTruth,
)
from safecity.sim.views import ObjectView, plate_occluded, smear_px


def _t(value: float) -> float:
    """Times and distances are written with 4 decimals: stable text, sub-millisecond detail."""
    return round(value, 4)


@overload
def _box(box: tuple[int, int, int, int]) -> Box: ...
@overload
def _box(box: None) -> None: ...
@overload
def _box(box: tuple[int, int, int, int] | None) -> Box | None: ...
def _box(box: tuple[int, int, int, int] | None) -> Box | None:
    return None if box is None else Box(x=box[0], y=box[1], w=box[2], h=box[3])


@dataclass(frozen=True)
class _Seen:
    frame: int
    vehicle_box: tuple[int, int, int, int]
    plate_box: tuple[int, int, int, int] | None
    plate_whole: bool
    plate_height_px: float | None
    occluded: bool
    smear_px: int


class TruthCollector:
    def __init__(self, city: City) -> None:
        self.city = city
        self._vehicles: dict[tuple[str, int], list[_Seen]] = defaultdict(list)
        self._walkers: dict[int, list[int]] = defaultdict(list)

    def record(self, site: CameraSite, frame: int, views: list[ObjectView]) -> None:
        """Note what ``site`` drew in ``frame``; ``views`` are in drawing order."""
        width, height = site.rig.width, site.rig.height
        for index, view in enumerate(views):
            if view.box is None:
                continue
            if view.pedestrian is not None:
                self._walkers[view.pedestrian.key].append(frame)
                continue
            if view.vehicle is None:
                continue
            plate_box = None
            whole = False
            plate_height = None
            occluded = False
            quad = view.plate_quad
            if quad is not None:
                plate_box = bounding_box(quad, width, height)
                whole = bool(
                    quad[:, 0].min() >= 0
                    and quad[:, 1].min() >= 0
                    and quad[:, 0].max() <= width
                    and quad[:, 1].max() <= height
                )
                plate_height = round(
                    float((quad[3, 1] - quad[0, 1] + quad[2, 1] - quad[1, 1]) / 2), 2
                )
                nearer = [other.box for other in views[index + 1 :] if other.box is not None]
                # The on-screen display is drawn over everything: a plate under it is hidden.
                nearer.append(overlay_extent(width, height))
                occluded = plate_box is not None and plate_occluded(plate_box, nearer)
            smear = smear_px(view.vehicle.look.motion_blur, view.plate_motion_px)
            self._vehicles[(site.id, view.vehicle.key)].append(
                _Seen(frame, view.box, plate_box, whole, plate_height, occluded, smear)
            )

    def _appearances(self, vehicle: Vehicle) -> list[Appearance]:
        result: list[Appearance] = []
        for site in self.city.cameras:
            seen = self._vehicles.get((site.id, vehicle.key), [])
            runs: list[list[_Seen]] = []
            for record in seen:
                if runs and record.frame == runs[-1][-1].frame + 1:
                    runs[-1].append(record)
                else:
                    runs.append([record])
            for run in runs:
                result.append(self._appearance(site, vehicle, run))
        result.sort(key=lambda item: (item.first_frame, item.camera_id))
        return result

    def _appearance(self, site: CameraSite, vehicle: Vehicle, run: list[_Seen]) -> Appearance:
        fps = self.city.fps
        first, last = run[0].frame, run[-1].frame
        whole = [record for record in run if record.plate_whole]
        picks = (
            sorted({round(fraction * (len(whole) - 1)) for fraction in (0, 0.25, 0.5, 0.75, 1)})
            if whole
            else []
        )
        samples = [
            PlateSample(
                frame=whole[i].frame,
                time_s=_t(whole[i].frame / fps),
                vehicle_box=_box(whole[i].vehicle_box),
                plate_box=_box(whole[i].plate_box),
                plate_height_px=whole[i].plate_height_px,
                plate_occluded=whole[i].occluded,
                smear_px=whole[i].smear_px,
            )
            for i in picks
        ]
        middle = samples[len(samples) // 2].plate_height_px if samples else None
        stop = site.stop_line_m
        return Appearance(
            camera_id=site.id,
            first_frame=first,
            last_frame=last,
            first_time_s=_t(first / fps),
            last_time_s=_t(last / fps),
            passes_camera_s=_t(vehicle.time_front_at(site.rig.position_m)),
            stop_line_s=None if stop is None else _t(vehicle.time_front_at(stop)),
            lighting=self.city.lighting.condition_at((first + last) / 2 / fps),
            plate_height_px=middle,
            samples=samples,
        )

    def _vehicle(
        self, vehicle: Vehicle, number: int, appearances: list[Appearance]
    ) -> VehicleTruth:
        plate = vehicle.plate
        look = vehicle.look
        return VehicleTruth(
            id=f"V{number:04d}",
            plate=plate.registration,
            plate_lines=plate.lines(),
            province=plate.province,
            plate_category=plate.category,
            plate_layout=plate.layout,
            plate_style=plate.style,
            plate_year=plate.year,
            plate_effects=PlateEffects(
                dirt=look.dirt, wear=look.wear, glare=look.glare, motion_blur=look.motion_blur
            ),
            vehicle_class=vehicle.model.vehicle_class,
            colour=vehicle.colour,
            speed_kmh=_t(vehicle.speed_kmh),
            lane=vehicle.lane,
            wrong_way=vehicle.direction < 0,
            ran_red_light=vehicle.ran_red_light,
            headlights=vehicle.headlights,
            lighting=self.city.lighting.condition_at(appearances[0].first_time_s),
            length_m=vehicle.model.length,
            appearances=appearances,
        )

    def _camera(self, site: CameraSite) -> CameraTruth:
        rig = site.rig
        latitude, longitude = geo_offset(CORRIDOR_ORIGIN, CORRIDOR_BEARING_DEG, rig.position_m)
        return CameraTruth(
            id=site.id,
            name=site.name,
            file=f"{site.id}.mp4",
            position=GeoPoint(
                corridor_m=rig.position_m,
                lateral_m=rig.lateral_m,
                height_m=rig.height_m,
                latitude=latitude,
                longitude=longitude,
            ),
            facing="oncoming",
            view=self.city.view,
            tilt_deg=_t(rig.tilt_deg),
            hfov_deg=rig.hfov_deg,
            signal_id=site.signal_id,
            stop_line_m=site.stop_line_m,
        )

    def _signals(self) -> list[SignalTruth]:
        result: list[SignalTruth] = []
        for site in self.city.cameras:
            plan = site.signal
            if plan is None or site.signal_id is None or site.stop_line_m is None:
                continue
            phases = [
                Phase(state=state, start_s=_t(low), end_s=_t(high))
                for state, low, high in plan.phases(0.0, self.city.duration_s)
            ]
            result.append(
                SignalTruth(
                    id=site.signal_id,
                    camera_id=site.id,
                    stop_line_m=site.stop_line_m,
                    green_s=plan.green_s,
                    amber_s=plan.amber_s,
                    red_s=plan.red_s,
                    phases=phases,
                )
            )
        return result

    def _pedestrians(self) -> list[PedestrianTruth]:
        result: list[PedestrianTruth] = []
        for walker in self.city.pedestrians:
            frames = self._walkers.get(walker.key, [])
            result.append(
                PedestrianTruth(
                    id=f"P{walker.key:04d}",
                    camera_id=self.city.cameras[walker.camera].id,
                    corridor_m=_t(walker.crossing_m),
                    start_s=_t(walker.start_s),
                    end_s=_t(walker.end_s),
                    speed_m_s=_t(walker.speed_m_s),
                    first_frame=min(frames) if frames else None,
                    last_frame=max(frames) if frames else None,
                )
            )
        return result

    def build(self) -> GroundTruth:
        city = self.city
        seen = [(self._appearances(vehicle), vehicle) for vehicle in city.vehicles]
        seen = [(appearances, vehicle) for appearances, vehicle in seen if appearances]
        seen.sort(key=lambda item: (item[0][0].first_frame, item[1].key))
        first = city.cameras[0].rig
        return GroundTruth(
            schema_version=1,
            seed=city.seed,
            duration_s=city.duration_s,
            fps=city.fps,
            frame_count=city.frame_count,
            width=first.width,
            height=first.height,
            keyframe_interval=keyframe_interval(city.fps),
            start_utc=city.start_utc,
            frame_counter=FrameCounterTruth(
                corner="top_left",
                data_bits=DATA_BITS,
                block_px=_t(first.height / BLOCKS_PER_HEIGHT),
                blocks_per_height=BLOCKS_PER_HEIGHT,
                pattern=pattern_description(),
                value="frame_index",
            ),
            road=Road(
                lane_width_m=LANE_WIDTH_M,
                lanes=[
                    Lane(number=n, direction="increasing", centre_m=lane_centre(n))
                    for n in range(1, LANE_COUNT + 1)
                ],
            ),
            lighting=[
                LightingPeriod(condition=c, start_s=_t(s), end_s=_t(e))
                for c, s, e in city.lighting.periods
            ],
            cameras=[self._camera(site) for site in city.cameras],
            signals=self._signals(),
            vehicles=[
                self._vehicle(vehicle, number, appearances)
                for number, (appearances, vehicle) in enumerate(seen, start=1)
            ],
            pedestrians=self._pedestrians(),
        )
