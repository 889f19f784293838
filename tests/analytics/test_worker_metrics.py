"""Analytics workers' reports as Prometheus gauges: the newest report per camera wins, a
worker whose reports stopped shows as down, and consumer counts are read at scrape time."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from safecity.bus.interface import Subscription, SubscriptionStats
from safecity.contracts.analytics_config import (
    AnalyticsConfigChanged,
    AnalyticsWorkerStats,
    CameraAnalyticsConfig,
)
from safecity.web.bus_metrics import AnalyticsWorkerGauges, ConsumerGauges

T0 = datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def _stats(camera: str, at: datetime, dropped: int) -> AnalyticsWorkerStats:
    return AnalyticsWorkerStats(
        camera_id=camera,
        config_version=1,
        frames_analysed=100,
        frames_dropped=dropped,
        analysed_fps=4.9,
        stage_ms={"motion": 1.5, "track": 4.0},
        events=3,
        plate_reads=2,
        plate_jobs_dropped=4,
        plate_jobs_answered=6,
        plate_frames_skipped={"clipped": 11, "settled": 5},
        detector_runs={"new_motion": 9, "refresh": 20},
        detector_frames_skipped=71,
        frames_rejected=12,
        plate_reads_rejected=8,
        messages_lost=13,
        emitted_at=at,
    )


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_newest_report_wins_and_a_silent_worker_is_down() -> None:
    now = T0 + timedelta(seconds=5)
    gauges = AnalyticsWorkerGauges(stale_after_seconds=30, clock=lambda: now)
    registry = CollectorRegistry()
    registry.register(gauges)
    gauges.observe(_stats("PSH-TC1", T0, dropped=7))
    gauges.observe(_stats("PSH-TC1", T0 - timedelta(seconds=3), dropped=1))  # late, older
    gauges.observe(_stats("PSH-TC2", T0 - timedelta(seconds=60), dropped=0))
    samples = _samples(registry)
    one = (("camera", "PSH-TC1"),)
    two = (("camera", "PSH-TC2"),)
    assert samples[("safecity_analytics_frames_dropped_total", one)] == 7
    assert samples[("safecity_analytics_worker_up", one)] == 1
    assert samples[("safecity_analytics_worker_report_age_seconds", one)] == 5
    assert samples[("safecity_analytics_worker_up", two)] == 0
    assert samples[("safecity_analytics_stage_milliseconds", (*one, ("stage", "track")))] == 4.0
    assert samples[("safecity_analytics_plate_reads_total", one)] == 2
    assert samples[("safecity_analytics_plate_jobs_answered_total", one)] == 6
    assert samples[("safecity_analytics_plate_jobs_dropped_total", one)] == 4
    skipped = "safecity_analytics_plate_frames_skipped_total"
    assert samples[(skipped, (*one, ("reason", "clipped")))] == 11
    assert samples[(skipped, (*one, ("reason", "settled")))] == 5
    runs = "safecity_analytics_detector_runs_total"
    assert samples[(runs, (*one, ("reason", "new_motion")))] == 9
    assert samples[(runs, (*one, ("reason", "refresh")))] == 20
    assert samples[("safecity_analytics_detector_frames_skipped_total", one)] == 71
    assert samples[("safecity_analytics_frames_rejected_total", one)] == 12
    assert samples[("safecity_analytics_plate_reads_rejected_total", one)] == 8
    assert samples[("safecity_analytics_messages_lost_total", one)] == 13


class _Subscription:
    @property
    def durable(self) -> str:
        return "control-plates"

    @property
    def stats(self) -> SubscriptionStats:
        return SubscriptionStats(handled=5, failed=1, rejected=2)

    async def stop(self) -> None:
        return None


def test_consumer_counts_and_refused_alerts_are_read_at_scrape_time() -> None:
    running: list[Subscription] = []
    refused: Counter[str] = Counter()
    registry = CollectorRegistry()
    registry.register(ConsumerGauges(lambda: running, refused))
    assert not any(name.startswith("safecity_bus") for name, _ in _samples(registry))
    running.append(_Subscription())
    refused["unknown_district"] += 3
    samples = _samples(registry)
    key = (("durable", "control-plates"), ("outcome", "rejected"))
    assert samples[("safecity_bus_consumer_messages_total", key)] == 2
    assert samples[("safecity_alerts_refused_total", (("reason", "unknown_district"),))] == 3


def test_a_camera_switched_off_leaves_the_metrics() -> None:
    now = T0 + timedelta(seconds=5)
    gauges = AnalyticsWorkerGauges(stale_after_seconds=30, clock=lambda: now)
    registry = CollectorRegistry()
    registry.register(gauges)

    def configured(version: int, *, enabled: bool) -> AnalyticsConfigChanged:
        return AnalyticsConfigChanged(
            camera_id="PSH-TC1",
            version=version,
            config=CameraAnalyticsConfig.model_validate({"enabled": enabled}),
        )

    gauges.observe(_stats("PSH-TC1", T0, dropped=1))
    gauges.observe(_stats("PSH-TC2", T0, dropped=1))
    gauges.configured(configured(2, enabled=False))
    # Its worker's last report (published as it stops) comes after: it stays out.
    gauges.observe(_stats("PSH-TC1", T0 + timedelta(seconds=1), dropped=2))
    assert gauges.cameras() == ["PSH-TC2"]
    cameras = {dict(labels).get("camera") for _, labels in _samples(registry)}
    assert "PSH-TC1" not in cameras
    assert "PSH-TC2" in cameras
    gauges.configured(configured(1, enabled=True))  # older: ignored
    gauges.observe(_stats("PSH-TC1", T0 + timedelta(seconds=2), dropped=3))
    assert gauges.cameras() == ["PSH-TC2"]
    gauges.configured(configured(3, enabled=True))  # switched on again: reported again
    gauges.observe(_stats("PSH-TC1", T0 + timedelta(seconds=3), dropped=4))
    assert gauges.cameras() == ["PSH-TC1", "PSH-TC2"]
