"""Privacy masks applied to what a viewer is shown: live video, snapshots, alert pictures.

A camera's masks are polygons in frame coordinates (0..1, origin top left). The stored
footage and pictures stay as the camera and the workers wrote them (they are evidence);
the masks are burned into the copy a viewer receives, using the camera's masks as they
are now, unless the viewer holds ``cameras.unmask`` (DESIGN.md "Governance by design").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from safecity.core.errors import NotFound
from safecity.identity.permissions import Principal
from safecity.registry.models import Camera

Polygon = tuple[tuple[float, float], ...]
Polygons = tuple[Polygon, ...]
UNMASK = "cameras.unmask"
_JPEG_QUALITY = 90


def mask_polygons(raw: Any) -> Polygons:
    """The polygons of a camera's stored ``privacy_masks`` (``[{"points": [[x, y], ...]}]``)."""
    polygons: list[Polygon] = []
    for item in raw or []:
        points = item.get("points") if isinstance(item, dict) else item
        if isinstance(points, list) and len(points) >= 3:
            polygons.append(tuple((float(p[0]), float(p[1])) for p in points))
    return tuple(polygons)


def viewer_masks(camera: Camera | None, principal: Principal) -> Polygons:
    """The masks to burn into what ``principal`` sees of ``camera`` (none with the unmask right)."""
    if camera is None or principal.has_permission(UNMASK):
        return ()
    return mask_polygons(camera.privacy_masks)


def unmasked_by_permission(camera: Camera | None, principal: Principal) -> bool:
    """The camera has masks and the viewer sees past them (worth saying in the audit)."""
    return (
        camera is not None
        and bool(mask_polygons(camera.privacy_masks))
        and principal.has_permission(UNMASK)
    )


def mask_note(camera: Camera | None, principal: Principal) -> str:
    """What an audit summary adds about masks: applied, lifted by permission, or nothing."""
    if unmasked_by_permission(camera, principal):
        return " without its privacy masks (cameras.unmask)"
    return " with privacy masks" if viewer_masks(camera, principal) else ""


def mask_matrix(
    polygons: Sequence[Sequence[tuple[float, float]]], width: int, height: int
) -> NDArray[np.bool_]:
    """True where a pixel centre lies inside any polygon (even-odd rule)."""
    ys, xs = np.mgrid[0:height, 0:width]
    px = (xs + 0.5) / width
    py = (ys + 0.5) / height
    inside_any = np.zeros((height, width), dtype=bool)
    for polygon in polygons:
        inside = np.zeros((height, width), dtype=bool)
        count = len(polygon)
        for i in range(count):
            x1, y1 = polygon[i]
            x2, y2 = polygon[(i + 1) % count]
            if y1 == y2:
                continue
            crosses = (y1 > py) != (y2 > py)
            x_at = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
            inside ^= crosses & (px < x_at)
        inside_any |= inside
    return inside_any


def burn_in(image: NDArray[np.uint8], polygons: Polygons) -> NDArray[np.uint8]:
    """A copy of ``image`` (height x width [x channels]) with the masked pixels black."""
    out = np.array(image, copy=True)
    if polygons:
        height, width = out.shape[:2]
        out[mask_matrix(polygons, width, height)] = 0
    return out


def masked_jpeg(data: bytes, polygons: Polygons) -> bytes:
    """The JPEG ``data`` with ``polygons`` burned in; the same bytes when there are none.

    A picture that cannot be decoded is refused (ValueError) rather than served unmasked.
    """
    if not polygons:
        return data
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the picture could not be decoded to apply the privacy masks")
    masked = burn_in(np.asarray(image, dtype=np.uint8), polygons)
    ok, encoded = cv2.imencode(".jpg", masked, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise ValueError("OpenCV could not encode the masked picture")
    return bytes(encoded.tobytes())


def picture_for(data: bytes, camera: Camera | None, principal: Principal, *, what: str) -> bytes:
    """The JPEG ``data`` of ``camera``'s scene as ``principal`` may see it (masks burned in).

    Fails closed: a picture the masks cannot be applied to is not served at all.
    """
    try:
        return masked_jpeg(data, viewer_masks(camera, principal))
    except ValueError as exc:
        raise NotFound(f"{what} cannot be shown: {exc}") from exc
