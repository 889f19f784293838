"""Simulated RTSP cameras: H.264 clips served as looping live streams by GStreamer's RTSP server.

This is a standalone script for Debian's ``/usr/bin/python3``, which has
PyGObject and GStreamer's introspection data; the project's virtual
environment has neither, so the script imports nothing from safecity and is
started and stopped by ``safecity.sim.rtsp``. Its configuration arrives as one
JSON object on stdin, so mount passwords never appear in the process list::

    {"host": "127.0.0.1", "port": 8555, "max_threads": 32,
     "mounts": [{"camera_id": "cam-1", "clip": "/abs/cam-1.mp4",
                 "user": null, "password": null}]}

Each mount is ``rtsp://host:port/<camera_id>``. The recipe avoids three traps
seen on these machines (ENVIRONMENT.md, "Video"): a looping file source sends
the whole file at once without timestamps, so the clip's access units are fed
into a live ``appsrc`` (``is-live=true do-timestamp=true``) paced at the clip's
frame rate; ``h264parse config-interval=-1`` puts SPS/PPS before every key
frame, or clients hang at DESCRIBE; and the server's thread pool, which
defaults to one thread, is raised so that many clients can connect at once.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import gi  # type: ignore[import-not-found, unused-ignore]

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, GObject, Gst, GstRtspServer  # type: ignore[import-not-found, unused-ignore]  # noqa: E402

EXIT_BAD_CONFIG = 2
EXIT_CANNOT_LISTEN = 3
DEFAULT_FPS = 10.0
# Gives up loading a clip that does not reach its end in this time (a broken file).
_CLIP_LOAD_SECONDS = 60.0
# A feeder that fell this far behind its schedule (the machine stalled) starts
# afresh instead of sending a burst of late frames.
_MAX_LAG_SECONDS = 1.0
_ROLE_FIELD = "media.factory.role"
_ANONYMOUS_ROLE = "anonymous"
_LAUNCH = (
    "( appsrc name=camera is-live=true do-timestamp=true format=time "
    "caps=video/x-h264,stream-format=byte-stream,alignment=au "
    "! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 )"
)


def log(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} rtsp-server: {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class AccessUnit:
    data: bytes
    key: bool


@dataclass(frozen=True)
class Clip:
    units: tuple[AccessUnit, ...]
    fps: float


@dataclass(frozen=True)
class Mount:
    camera_id: str
    clip: str
    user: str | None
    password: str | None
    clock_offset_seconds: float = 0.0


# Seconds from the NTP epoch (1900) to the Unix epoch (1970).
_NTP_UNIX_OFFSET_SECONDS = 2208988800


def skewed_ntp_clock(offset_seconds: float) -> Any:
    """A wall clock ``offset_seconds`` ahead of ours (behind when negative), read as NTP time.

    RTCP sender reports carry the sender's wall clock; a camera whose clock is
    wrong sends a wrong one, and this is how the simulated camera does.
    """
    clock = GObject.new(Gst.SystemClock, clock_type=Gst.ClockType.REALTIME)
    shift = round((offset_seconds + _NTP_UNIX_OFFSET_SECONDS) * Gst.SECOND)
    clock.set_calibration(0, shift, 1, 1)
    return clock


def _use_clock_for_reports(media: Any, clock: Any) -> None:
    pipeline = media.get_element().get_parent()
    while pipeline is not None and pipeline.get_parent() is not None:
        pipeline = pipeline.get_parent()

    def to_clock_time(element: Any) -> None:
        factory = element.get_factory()
        # rtpbin passes the setting only to sessions it creates later: set both.
        if factory is not None and factory.get_name() in ("rtpbin", "rtpsession"):
            element.set_property("ntp-time-source", "clock-time")

    if pipeline is not None:
        pipeline.iterate_recurse().foreach(to_clock_time)
        pipeline.use_clock(clock)


def load_clip(path: str) -> Clip:
    """Every H.264 access unit of ``path`` in byte-stream form, with SPS/PPS before key frames."""
    pipeline = Gst.parse_launch(
        "filesrc name=file ! qtdemux ! h264parse config-interval=-1 "
        "! video/x-h264,stream-format=byte-stream,alignment=au "
        "! appsink name=sink sync=false"
    )
    pipeline.get_by_name("file").set_property("location", path)
    sink = pipeline.get_by_name("sink")
    pipeline.set_state(Gst.State.PLAYING)
    units: list[AccessUnit] = []
    fps = 0.0
    deadline = time.monotonic() + _CLIP_LOAD_SECONDS
    try:
        while time.monotonic() < deadline:
            sample = sink.emit("try-pull-sample", Gst.SECOND)
            if sample is None:
                if sink.get_property("eos"):
                    break
                _raise_pipeline_error(pipeline, path)
                continue
            if not fps:
                fps = _caps_fps(sample.get_caps())
            buffer = sample.get_buffer()
            ok, info = buffer.map(Gst.MapFlags.READ)
            if not ok:
                raise RuntimeError(f"cannot read a buffer of {path}")
            try:
                data = bytes(info.data)
            finally:
                buffer.unmap(info)
            units.append(AccessUnit(data, not buffer.has_flags(Gst.BufferFlags.DELTA_UNIT)))
        else:
            raise RuntimeError(f"{path} did not load within {_CLIP_LOAD_SECONDS:.0f} s")
        _raise_pipeline_error(pipeline, path)
    finally:
        pipeline.set_state(Gst.State.NULL)
    first_key = next((index for index, unit in enumerate(units) if unit.key), None)
    if first_key is None:
        raise RuntimeError(f"{path} holds no H.264 key frame")
    # A loop must restart on a key frame, or every pass starts with undecodable frames.
    return Clip(units=tuple(units[first_key:]), fps=fps or DEFAULT_FPS)


def _caps_fps(caps: Any) -> float:
    ok, numerator, denominator = caps.get_structure(0).get_fraction("framerate")
    if ok and numerator > 0 and denominator > 0:
        return float(numerator) / float(denominator)
    return 0.0


def _raise_pipeline_error(pipeline: Any, path: str) -> None:
    message = pipeline.get_bus().pop_filtered(Gst.MessageType.ERROR)
    if message is not None:
        error, _debug = message.parse_error()
        raise RuntimeError(f"cannot load {path}: {error.message}")


class Feeder:
    """Pushes a clip's access units into one media's appsrc at the clip's frame rate.

    Behaves like a camera's encoder: it never waits for the network. While the
    appsrc says it has enough data (the client has not started playing), frames
    are skipped, and sending resumes at the next key frame so the stream stays
    decodable. Every camera plays its clip on one timeline that starts with the
    server, so clips rendered to be in step stay in step across cameras.
    """

    def __init__(self, camera_id: str, appsrc: Any, clip: Clip, epoch: float) -> None:
        self._camera_id = camera_id
        self._appsrc = appsrc
        self._clip = clip
        self._epoch = epoch
        self._stopped = threading.Event()
        self._wanted = threading.Event()
        self._wanted.set()
        appsrc.connect("need-data", lambda _src, _length: self._wanted.set())
        appsrc.connect("enough-data", lambda _src: self._wanted.clear())
        self._thread = threading.Thread(target=self._run, name=f"feed-{camera_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _first_index(self) -> int:
        # The key frame at or before where the shared timeline is now, so a
        # new client's first frame is decodable at once.
        units = self._clip.units
        index = int((time.monotonic() - self._epoch) * self._clip.fps) % len(units)
        while not units[index].key:
            index -= 1
        return index

    def _run(self) -> None:
        period = 1.0 / self._clip.fps
        duration = int(Gst.SECOND * period)
        units = self._clip.units
        index = self._first_index()
        flowing = False
        skipping = False
        due = time.monotonic()
        while not self._stopped.is_set():
            unit = units[index]
            if not self._wanted.is_set():
                skipping = True
            elif skipping and unit.key:
                skipping = False
            if not skipping:
                buffer = Gst.Buffer.new_wrapped(unit.data)
                buffer.duration = duration
                if not unit.key:
                    buffer.set_flags(Gst.BufferFlags.DELTA_UNIT)
                result = self._appsrc.emit("push-buffer", buffer)
                if result == Gst.FlowReturn.OK:
                    flowing = True
                elif flowing:
                    return  # the pipeline is shutting down
                else:
                    # Not started yet: offer the same key frame again next tick
                    # rather than let the stream begin mid-way through a GOP.
                    index -= 1
            index = (index + 1) % len(units)
            due += period
            lag = time.monotonic() - due
            if lag > _MAX_LAG_SECONDS:
                due = time.monotonic()
            elif lag < 0:
                self._stopped.wait(-lag)


class CameraFactory:
    """One mount. Each client gets its own pipeline (a media that is not shared).

    A shared media is dropped from the factory's cache only when its teardown
    has finished, and a client that reconnects in between is refused with 503;
    cameras reconnect quickly, so every client gets a fresh media instead.
    """

    def __init__(self, mount: Mount, clip: Clip, epoch: float) -> None:
        self._mount = mount
        self._clip = clip
        self._epoch = epoch
        self.factory = GstRtspServer.RTSPMediaFactory()
        self.factory.set_launch(_LAUNCH)
        self.factory.set_shared(False)
        self.factory.connect("media-configure", self._on_media_configure)

    def _on_media_configure(self, _factory: Any, media: Any) -> None:
        appsrc = media.get_element().get_by_name("camera")
        feeder = Feeder(self._mount.camera_id, appsrc, self._clip, self._epoch)
        media.connect("unprepared", lambda _media: feeder.stop())
        if self._mount.clock_offset_seconds:
            clock = skewed_ntp_clock(self._mount.clock_offset_seconds)
            media.set_clock(clock)
            media.connect("prepared", lambda prepared: _use_clock_for_reports(prepared, clock))
        feeder.start()


def install_auth(server: Any, factories: list[tuple[Mount, CameraFactory]]) -> None:
    """Anonymous access to mounts without credentials, Basic auth on the others.

    Each distinct user/password pair gets its own role, and a mount admits only
    its own role, so one camera's credentials never open another camera.
    """
    auth = GstRtspServer.RTSPAuth()
    anonymous = GstRtspServer.RTSPToken()
    anonymous.set_string(_ROLE_FIELD, _ANONYMOUS_ROLE)
    auth.set_default_token(anonymous)
    roles: dict[tuple[str, str], str] = {}
    for mount, camera in factories:
        if mount.user is None:
            _grant(camera, _ANONYMOUS_ROLE, construct=True)
            continue
        pair = (mount.user, mount.password or "")
        role = roles.get(pair, "")
        if not role:
            role = f"credentials-{len(roles) + 1}"
            roles[pair] = role
            token = GstRtspServer.RTSPToken()
            token.set_string(_ROLE_FIELD, role)
            auth.add_basic(GstRtspServer.RTSPAuth.make_basic(*pair), token)
        _grant(camera, role, construct=True)
        # The server answers a role without "access" with 404 and one without
        # "construct" with 401: only a 401 makes a client send its credentials.
        _grant(camera, _ANONYMOUS_ROLE, construct=False)
    server.set_auth(auth)


def _grant(camera: CameraFactory, role: str, *, construct: bool) -> None:
    camera.factory.add_role_from_structure(
        Gst.Structure.new_from_string(
            f"{role}, media.factory.access=(boolean)true, "
            f"media.factory.construct=(boolean){'true' if construct else 'false'}"
        )
    )


def read_config() -> tuple[str, int, int, list[Mount]]:
    config = json.load(sys.stdin)
    mounts = [
        Mount(
            camera_id=str(item["camera_id"]),
            clip=str(item["clip"]),
            user=item.get("user"),
            password=item.get("password"),
            clock_offset_seconds=float(item.get("clock_offset_seconds", 0.0)),
        )
        for item in config["mounts"]
    ]
    if not mounts:
        raise ValueError("no mounts configured")
    return str(config["host"]), int(config["port"]), int(config["max_threads"]), mounts


def main() -> int:
    Gst.init(None)
    try:
        host, port, max_threads, mounts = read_config()
        clips: dict[str, Clip] = {}
        for mount in mounts:
            if mount.clip not in clips:
                clips[mount.clip] = load_clip(mount.clip)
    except (ValueError, KeyError, TypeError, RuntimeError, GLib.Error) as exc:
        log(f"bad configuration: {exc}")
        return EXIT_BAD_CONFIG
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(str(port))
    server.get_thread_pool().set_max_threads(max_threads)
    epoch = time.monotonic()
    factories = [(mount, CameraFactory(mount, clips[mount.clip], epoch)) for mount in mounts]
    points = server.get_mount_points()
    for mount, camera in factories:
        points.add_factory(f"/{mount.camera_id}", camera.factory)
    install_auth(server, factories)
    if server.attach(None) == 0:
        log(f"cannot listen on {host}:{port}: address already in use?")
        return EXIT_CANNOT_LISTEN
    loop = GLib.MainLoop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, loop.quit)
    log(f"serving {len(mounts)} camera(s) on rtsp://{host}:{port}/ with {max_threads} threads")
    loop.run()
    log("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
