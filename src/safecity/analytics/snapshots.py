"""Event snapshots and plate crops: JPEG files under the media root, named by relative path."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

SNAPSHOT_FOLDER = "analytics"
_JPEG_QUALITY = 85


def write_jpeg(
    media_root: Path,
    camera_id: str,
    at: datetime,
    image: npt.NDArray[np.uint8],
    *,
    label: str,
) -> str:
    """Write ``image`` and return its path relative to ``media_root`` ('/'-separated)."""
    if image.size == 0:
        raise ValueError("cannot write an empty image")
    relative = (
        f"{SNAPSHOT_FOLDER}/{camera_id}/{at:%Y-%m-%d}/"
        f"{at:%H%M%S}-{label}-{uuid.uuid4().hex[:8]}.jpg"
    )
    path = media_root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode the JPEG")
    # Write then rename, so a reader never sees half a file.
    partial = path.with_suffix(".part")
    partial.write_bytes(encoded.tobytes())
    partial.replace(path)
    return relative


def crop(
    image: npt.NDArray[np.uint8], xyxy: tuple[float, float, float, float], *, margin: float = 0.1
) -> npt.NDArray[np.uint8]:
    """A copy of the box (with a margin) clipped to the image; may be empty."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = xyxy
    pad_x, pad_y = (x2 - x1) * margin, (y2 - y1) * margin
    left, top = max(0, int(x1 - pad_x)), max(0, int(y1 - pad_y))
    right, bottom = min(width, int(x2 + pad_x + 0.999)), min(height, int(y2 + pad_y + 0.999))
    return np.array(image[top:bottom, left:right], copy=True)


def grab_jpeg(video: Path, *, max_width: int = 1280) -> bytes:
    """A JPEG of the last key frame of a recording (cheap: only key frames are decoded)."""
    import av

    last = None
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.codec_context.skip_frame = "NONKEY"
        for frame in container.decode(stream):
            last = frame
    if last is None:
        raise ValueError(f"{video.name} holds no decodable key frame")
    image = np.asarray(last.to_ndarray(format="bgr24"), dtype=np.uint8)
    height, width = image.shape[:2]
    if width > max_width:
        image = np.asarray(
            cv2.resize(
                image, (max_width, round(height * max_width / width)), interpolation=cv2.INTER_AREA
            ),
            dtype=np.uint8,
        )
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode the JPEG")
    return bytes(encoded.tobytes())
