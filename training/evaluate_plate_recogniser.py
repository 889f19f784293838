"""Exported plate models side by side on the held-out generated data, as the reader reads.

Runs each model's ONNX file (checked against its manifest by
:class:`safecity.vision.plates.slots.SlotRecogniser`'s own loader) on the synthetic
validation plates (seed 990001) and the held-out render crops (chunk ``sim-000``,
training seeds 932000-932009, never trained on), decodes the slots as the reader does
(the characters of the non-empty slots; the confidence is the product of every slot's
best probability) and prints markdown tables: exact reads overall, by plate height, by
motion blur and for the deployment condition (ANPR view, 1280x720, H.264), and the
confidence of right and wrong reads.

    PYTHONPATH=src:. .venv/bin/python -m training.evaluate_plate_recogniser \\
        --models old=build/old/plate_recogniser.json,new=shipped
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safecity.vision.plates.slots import checked_session, load_manifest, shipped_manifest
from training.plate_sim_crops import is_deployment_condition
from training.plate_synth import ALPHABET

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "plate-training"
HEIGHTS = ((8, 12), (12, 16), (16, 20), (20, 30), (30, 1000))
THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class Reads:
    """One model's reads of one data set: exact or not, and the confidence of each."""

    exact: npt.NDArray[np.bool_]
    confidence: npt.NDArray[np.float64]


def _texts(labels: npt.NDArray[np.int64]) -> list[str]:
    return ["".join(ALPHABET[i] for i in row if i < len(ALPHABET)) for row in labels]


def _read(session: Any, name: str, images: npt.NDArray[np.uint8], truth: list[str]) -> Reads:
    exact = np.zeros(len(images), bool)
    confidence = np.zeros(len(images))
    for start in range(0, len(images), 256):
        batch = images[start : start + 256].astype(np.float32)[:, np.newaxis]
        probs = session.run(None, {name: batch})[0]
        best = probs.argmax(-1)
        confidence[start : start + len(batch)] = probs.max(-1).prod(-1)
        for offset, row in enumerate(best):
            text = "".join(ALPHABET[i] for i in row if i < len(ALPHABET))
            exact[start + offset] = text == truth[start + offset]
    return Reads(exact, confidence)


def _share(hits: npt.NDArray[np.bool_]) -> str:
    return f"{int(hits.sum())} ({100 * hits.mean():.1f} %)" if len(hits) else "-"


def _quantiles(values: npt.NDArray[np.float64]) -> str:
    if not len(values):
        return "- (0)"
    p10, p50, p90 = np.quantile(values, [0.1, 0.5, 0.9])
    return f"{p10:.2f} / {p50:.2f} / {p90:.2f} ({len(values)})"


def _models(spec: str) -> list[tuple[str, Path]]:
    pairs = []
    for item in spec.split(","):
        name, _, path = item.partition("=")
        if not path:
            raise SystemExit(f"--models wants name=manifest pairs, got {item!r}")
        pairs.append((name, shipped_manifest() if path == "shipped" else Path(path)))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", required=True, help="name=manifest.json (or shipped), ...")
    parser.add_argument("--data", default=str(WORK / "data" / "validation.npz"))
    parser.add_argument("--renders", default=str(WORK / "sim" / "sim-000.npz"))
    args = parser.parse_args()
    with np.load(args.data) as data:
        synth_images, synth_truth = data["images"], _texts(data["labels"])
    with np.load(args.renders) as data:
        images, truth = data["images"], _texts(data["labels"])
        heights, blurs, seeds = data["heights"], data["blurs"], data["seed"]
    verdict = {int(s): is_deployment_condition(int(s)) for s in np.unique(seeds)}
    deployed = np.array([verdict[int(s)] for s in seeds], bool)
    groups: list[tuple[str, npt.NDArray[np.bool_]]] = [("all", np.ones(len(images), bool))]
    groups += [
        (
            f"plate {low}-{high} px" if high < 1000 else f"plate {low}+ px",
            (heights >= low) & (heights < high),
        )
        for low, high in HEIGHTS
    ]
    groups += [
        ("no motion blur, >= 16 px", (blurs == 0) & (heights >= 16)),
        ("motion blur", blurs > 0),
        ("deployment condition (anpr, 1280x720, H.264)", deployed),
    ]
    results = []
    for name, manifest_path in _models(args.models):
        manifest = load_manifest(manifest_path)
        session = checked_session(
            "plate model", manifest_path.parent / manifest.file, manifest.sha256, 1
        )
        results.append(
            (
                name,
                _read(session, manifest.input.name, synth_images, synth_truth),
                _read(session, manifest.input.name, images, truth),
            )
        )
    names = [name for name, _, _ in results]
    print(f"| held-out data | samples | {' | '.join(names)} |")
    print(f"|---|---:|{'---:|' * len(names)}")
    synth_cells = " | ".join(_share(synth.exact) for _, synth, _ in results)
    print(f"| synthetic validation (seed 990001) | {len(synth_images)} | {synth_cells} |")
    for label, mask in groups:
        cells = " | ".join(_share(renders.exact[mask]) for _, _, renders in results)
        print(f"| render crops sim-000: {label} | {int(mask.sum())} | {cells} |")
    print()
    heads = " | ".join(f">= {t}: right / wrong" for t in THRESHOLDS)
    print(f"| model, data | right: confidence p10 / p50 / p90 | wrong: p10 / p50 / p90 | {heads} |")
    print(f"|---|---|---|{'---:|' * len(THRESHOLDS)}")
    for name, synth, renders in results:
        for label, reads in (("synthetic", synth), ("render crops", renders)):
            right, wrong = reads.confidence[reads.exact], reads.confidence[~reads.exact]
            counts = " | ".join(
                f"{int((right >= t).sum())} / {int((wrong >= t).sum())}" for t in THRESHOLDS
            )
            print(f"| {name}, {label} | {_quantiles(right)} | {_quantiles(wrong)} | {counts} |")


if __name__ == "__main__":
    main()
