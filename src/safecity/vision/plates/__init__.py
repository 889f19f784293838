"""Number-plate reading (ANPR) as pure computation: images in, registrations out.

The interface other packages call (keep it stable)::

    from safecity.vision.plates import PlateReader, PlateRead, fuse_reads, FormatRules

    reader = PlateReader(rules=FormatRules.default())   # OCR models load on first read
    reads: list[PlateRead] = reader.read(image_bgr, region=None)  # region: (x, y, w, h)
    fused: PlateRead | None = fuse_reads(reads_of_one_track)

Sharing: one ``PlateReader`` (default ``threads=1``) may serve every camera
pipeline of a process, called from their threads at the same time; it keeps no
per-call state, and its two ONNX Runtime sessions run concurrent calls. Call
``reader.warm_up()`` once at start so the first frame does not pay the load.

``PlateRead`` (immutable): ``text`` (A-Z0-9 only; two-line plates as upper line
then lower line; no province words or year tags), ``confidence`` (0..1),
``box`` (:class:`PixelBox` x, y, w, h in the pixels of the image passed in,
also when ``region`` was given), ``lines`` (registration lines as printed),
``rule`` (format rule matched, or ``"generic"``) and ``frames`` (reads fused).
``read`` returns the most plausible plate first; an empty image or region gives
``[]``; a non-image (wrong type, dtype or shape) raises :class:`InvalidImage`.

How a read is made:

1. **Localise**: PP-OCRv4's text detector (shipped inside the
   ``rapidocr-onnxruntime`` package, never downloaded; run through its own ONNX
   Runtime session, :mod:`ocr`) finds text lines in the vehicle region scaled to
   about 288 px, or in the whole image at full resolution up to 1600 px; lines stacked like
   a two-line plate are grouped (:mod:`localise`). The work per call is bounded:
   one detector pass (plus one per image-cue proposal, :mod:`regions`, only when
   nothing decisive was read), at most ``max_line_reads`` recogniser calls, and a
   vehicle region stops at its first confident read that fits a format rule.
   ``PlateReader(locator="first")`` asks the project's own plate locator first
   (:mod:`locator`, ``models/PLATE_LOCATOR.md``, about a millisecond a vehicle region;
   trained on simulator renders only): its plates are read by PP-OCR on a small crop
   around each located plate instead of the whole region, and by the own whole-plate
   model, whose read counts where it is sure: both where they agree, the more confident
   where they differ (the usual way only where nothing is located);
   ``locator="only"`` stops after the own model. The default stays ``"off"``.
   With ``unsmear=True`` located plates that read as nothing are unsmeared and read again,
   only decisive reads kept (:mod:`unsmear`: a motion smear's length and direction found
   in the plate's cepstrum, undone by a Wiener filter; the analytics workers use it).
2. **Rectify**: each line's quadrilateral is warped to an upright rectangle,
   tight and with a margin (a detector often clips an end character), and with
   contrast normalisation for dark or hazy plates (:mod:`ocr`, :mod:`candidate_reader`).
3. **Recognise**: the recogniser's per-step probabilities are decoded onto
   A-Z0-9 only, keeping each character's alternatives (:mod:`lattice`).
   ``PlateReader(recogniser="slots")`` reads each candidate instead with the
   project's own whole-plate model (:mod:`slots`, ``models/MODEL_CARD.md``; manifest
   checked at load), ``"slots-first"`` uses it first and PP-OCR where it is unsure, and
   ``cues_first=True`` tries image-cue regions with it before the detector in a vehicle
   region. The default stays ``"ppocr"``: the shipped first weights have not converged
   (docs/BENCHMARKS.md).
4. **Validate**: :class:`FormatRules` (data, ``formats.yaml``: Pakistan by
   default, plus ``us`` and ``br``) drop province/district words and year tags
   and fit each reading to the registration formats; a character in a position
   of the wrong class becomes the best character of the right class that the
   recogniser considered, else its look-alike (O/0, I/1, B/8, S/5, Z/2, G/6)
   (:mod:`interpret`, :mod:`rules`).
   A whole image (not a vehicle region) whose top read is not decisive is looked at
   again: the detector re-run on the plate's surroundings at three scales, each line read
   with four crops, and the registration most reads agree on wins (:mod:`consensus`);
   an image where nothing was read is searched once more with its contrast evened out
   (both :mod:`second_look`).
5. **Fuse**: :func:`fuse_reads` votes character by character over a track's
   reads, weighted by confidence (:mod:`fusion`); :class:`PlateTracks` links
   reads across video frames (:mod:`tracks`).
"""

from safecity.vision.plates.fusion import fuse_reads
from safecity.vision.plates.image import InvalidImage
from safecity.vision.plates.interpret import Interpretation, interpret, normalise_text
from safecity.vision.plates.lattice import CharSlot, LineRead
from safecity.vision.plates.ocr import EngineUnavailable, TextEngine
from safecity.vision.plates.reader import PlateReader
from safecity.vision.plates.result import GENERIC_RULE, PixelBox, PlateRead
from safecity.vision.plates.rules import FormatRule, FormatRules, GenericShape, RuleCatalogue
from safecity.vision.plates.tracks import PlateTracks, TrackRead, still_text

__all__ = [
    "GENERIC_RULE",
    "CharSlot",
    "EngineUnavailable",
    "FormatRule",
    "FormatRules",
    "GenericShape",
    "Interpretation",
    "InvalidImage",
    "LineRead",
    "PixelBox",
    "PlateRead",
    "PlateReader",
    "PlateTracks",
    "RuleCatalogue",
    "TextEngine",
    "TrackRead",
    "fuse_reads",
    "interpret",
    "normalise_text",
    "still_text",
]
