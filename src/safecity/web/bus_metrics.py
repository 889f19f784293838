"""What the data plane and the bus consumers report, as Prometheus gauges.

Analytics workers publish ``AnalyticsWorkerStats`` every few seconds; the control plane
keeps the latest report per camera and serves it at ``/metrics``, so a dashboard sees
dropped frames and slow stages per camera, and a worker that has gone quiet shows as
``safecity_analytics_worker_up 0`` instead of silently keeping its last figures. A
camera whose analytics is switched off (``AnalyticsConfigChanged``) is dropped from the
metrics, not left at ``worker_up 0`` for ever; its worker's last report, arriving after,
does not bring it back.
Consumer counts (handled, failed, rejected) and the alerts refused for want of a place
are read at scrape time from the objects that keep them.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from safecity.bus.interface import Subscription
from safecity.contracts.analytics_config import AnalyticsConfigChanged, AnalyticsWorkerStats
from safecity.core.clock import utcnow

# Workers report every 2-5 s; three missed reports mean the worker is gone or stuck.
DEFAULT_STALE_AFTER_SECONDS = 30.0


class AnalyticsWorkerGauges:
    """The latest report of each analytics worker, as a Prometheus collector."""

    def __init__(
        self,
        *,
        stale_after_seconds: float = DEFAULT_STALE_AFTER_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if stale_after_seconds <= 0:
            raise ValueError("stale_after_seconds must be positive")
        self._stale_after = stale_after_seconds
        self._clock = clock
        self._latest: dict[str, AnalyticsWorkerStats] = {}
        self._versions: dict[str, int] = {}  # each camera's newest configuration seen
        self._disabled: set[str] = set()
        # Reports arrive on the event loop; scrapes run in the thread pool.
        self._lock = threading.Lock()

    def observe(self, stats: AnalyticsWorkerStats) -> None:
        """Keep ``stats`` unless a newer report of the same camera is already kept
        (a redelivered or late message must not roll the figures back)."""
        with self._lock:
            if stats.camera_id in self._disabled:
                return  # the last report of a camera switched off
            kept = self._latest.get(stats.camera_id)
            if kept is not None and kept.emitted_at >= stats.emitted_at:
                return
            self._latest[stats.camera_id] = stats

    def configured(self, message: AnalyticsConfigChanged) -> None:
        """A camera's newer configuration: analytics off drops the camera from the metrics
        (and ignores its reports until it is switched on again)."""
        camera = message.camera_id
        with self._lock:
            if message.version <= self._versions.get(camera, 0):
                return  # an older or repeated message
            self._versions[camera] = message.version
            if message.config.enabled:
                self._disabled.discard(camera)
            else:
                self._disabled.add(camera)
                self._latest.pop(camera, None)

    def cameras(self) -> list[str]:
        """The cameras with figures in the metrics."""
        with self._lock:
            return sorted(self._latest)

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            reports = sorted(self._latest.items())
        now = self._clock()
        up = GaugeMetricFamily(
            "safecity_analytics_worker_up",
            "1 while the camera's analytics worker reports, 0 once its reports have stopped",
            labels=["camera"],
        )
        age = GaugeMetricFamily(
            "safecity_analytics_worker_report_age_seconds",
            "Seconds since the worker emitted its last report",
            labels=["camera"],
        )
        fps = GaugeMetricFamily(
            "safecity_analytics_analysed_fps",
            "Frames analysed per second over the last 10 seconds",
            labels=["camera"],
        )
        analysed = CounterMetricFamily(
            "safecity_analytics_frames_analysed",
            "Frames analysed since the worker started",
            labels=["camera"],
        )
        dropped = CounterMetricFamily(
            "safecity_analytics_frames_dropped",
            "Decoded frames dropped, oldest first, because analysis fell behind",
            labels=["camera"],
        )
        events = CounterMetricFamily(
            "safecity_analytics_events", "Rule events published", labels=["camera"]
        )
        reads = CounterMetricFamily(
            "safecity_analytics_plate_reads", "Plate reads published", labels=["camera"]
        )
        jobs_read = CounterMetricFamily(
            "safecity_analytics_plate_jobs_answered",
            "Plate reads of this camera the worker's shared plate reader ran",
            labels=["camera"],
        )
        jobs_dropped = CounterMetricFamily(
            "safecity_analytics_plate_jobs_dropped",
            "Plate reads of this camera dropped unread because the shared reader was behind",
            labels=["camera"],
        )
        skipped = CounterMetricFamily(
            "safecity_analytics_plate_frames_skipped",
            "Frames of vehicle tracks not sent to the plate reader, by reason",
            labels=["camera", "reason"],
        )
        detector_runs = CounterMetricFamily(
            "safecity_analytics_detector_runs",
            "Detector runs, by why the cadence ran it (new_motion, lost_lock, refresh, confirm, "
            "start, motion)",
            labels=["camera", "reason"],
        )
        detector_skipped = CounterMetricFamily(
            "safecity_analytics_detector_frames_skipped",
            "Frames with motion or live tracks followed without running the detector",
            labels=["camera"],
        )
        stage = GaugeMetricFamily(
            "safecity_analytics_stage_milliseconds",
            "Mean milliseconds per analysed frame of one pipeline stage, recent window "
            "(decode: the reader's decoding; plate_ocr: the shared plate reader, per job)",
            labels=["camera", "stage"],
        )
        rejected = CounterMetricFamily(
            "safecity_analytics_frames_rejected",
            "Frames not analysed: of an unexpected shape or size, or whose analysis failed",
            labels=["camera"],
        )
        reads_rejected = CounterMetricFamily(
            "safecity_analytics_plate_reads_rejected",
            "Fused plate reads dropped as garbage (text that is no registration)",
            labels=["camera"],
        )
        lost = CounterMetricFamily(
            "safecity_analytics_messages_lost",
            "Messages of the camera the worker lost (outgoing queue full, or refused by the bus)",
            labels=["camera"],
        )
        detector_failed = GaugeMetricFamily(
            "safecity_analytics_detector_failed",
            "1 when the configured detector could not be used (motion regions stand in)",
            labels=["camera"],
        )
        for camera, stats in reports:
            # Age from the worker's own timestamp, so that a control plane catching up on
            # old reports after a restart does not show long-gone workers as up.
            seconds = max(0.0, (now - stats.emitted_at).total_seconds())
            up.add_metric([camera], 0.0 if seconds > self._stale_after else 1.0)
            age.add_metric([camera], seconds)
            fps.add_metric([camera], stats.analysed_fps)
            analysed.add_metric([camera], stats.frames_analysed)
            dropped.add_metric([camera], stats.frames_dropped)
            events.add_metric([camera], stats.events)
            reads.add_metric([camera], stats.plate_reads)
            jobs_read.add_metric([camera], stats.plate_jobs_answered)
            jobs_dropped.add_metric([camera], stats.plate_jobs_dropped)
            for reason, count in sorted(stats.plate_frames_skipped.items()):
                skipped.add_metric([camera, reason], count)
            for reason, count in sorted(stats.detector_runs.items()):
                detector_runs.add_metric([camera, reason], count)
            detector_skipped.add_metric([camera], stats.detector_frames_skipped)
            for name, milliseconds in sorted(stats.stage_ms.items()):
                stage.add_metric([camera, name], milliseconds)
            detector_failed.add_metric([camera], 1.0 if stats.detector_error else 0.0)
            rejected.add_metric([camera], stats.frames_rejected)
            reads_rejected.add_metric([camera], stats.plate_reads_rejected)
            lost.add_metric([camera], stats.messages_lost)
        return [
            up,
            age,
            fps,
            analysed,
            dropped,
            events,
            reads,
            jobs_read,
            jobs_dropped,
            skipped,
            detector_runs,
            detector_skipped,
            stage,
            detector_failed,
            rejected,
            reads_rejected,
            lost,
        ]


class ConsumerGauges:
    """Counts of the control plane's durable consumers and of refused alerts."""

    def __init__(
        self,
        subscriptions: Callable[[], Sequence[Subscription]],
        refused_alerts: Counter[str] | None = None,
    ) -> None:
        self._subscriptions = subscriptions
        self._refused = refused_alerts

    def collect(self) -> Iterable[Metric]:
        messages = CounterMetricFamily(
            "safecity_bus_consumer_messages",
            "Messages a durable consumer handled, failed (to be redelivered) or rejected "
            "(undecodable, dropped)",
            labels=["durable", "outcome"],
        )
        for subscription in self._subscriptions():
            counts = subscription.stats
            for outcome, value in (
                ("handled", counts.handled),
                ("failed", counts.failed),
                ("rejected", counts.rejected),
            ):
                messages.add_metric([subscription.durable, outcome], value)
        refused = CounterMetricFamily(
            "safecity_alerts_refused",
            "Alert messages refused, by reason (no district, no place, ...)",
            labels=["reason"],
        )
        for reason, count in sorted((self._refused or Counter()).items()):
            refused.add_metric([reason], count)
        return [messages, refused]
