"""Track fusion and frame-to-frame association, table-driven."""

from __future__ import annotations

import pytest

from safecity.vision.plates import PixelBox, PlateRead, PlateTracks, fuse_reads, still_text


def _read(text: str, confidence: float = 0.9, x: int = 100, y: int = 100) -> PlateRead:
    return PlateRead(
        text=text,
        confidence=confidence,
        box=PixelBox(x, y, 80, 20),
        lines=(text,),
        rule="pk-kp",
    )


# (reads as (text, confidence), fused text)
VOTES = [
    ([("LEB3656", 0.9)], "LEB3656"),
    # one character outvoted at one position
    ([("LEB3656", 0.9), ("LEB3658", 0.6), ("LEB3656", 0.8)], "LEB3656"),
    # each read wrong somewhere else: the vote fixes both
    ([("LE83656", 0.9), ("LEB3G56", 0.9), ("LEB3656", 0.5)], "LEB3656"),
    # a read that lost a character does not shift the others
    ([("LEB3656", 0.8), ("EB3656", 0.95), ("LEB3656", 0.7)], "LEB3656"),
    # confidence decides a tie in count
    ([("AB123", 0.95), ("AB128", 0.4)], "AB123"),
    # the length carrying the most confidence wins, not the longest
    ([("AB1234", 0.3), ("AB123", 0.9), ("AB123", 0.8)], "AB123"),
]


@pytest.mark.parametrize(("reads", "text"), VOTES)
def test_fusion_votes_per_character(reads: list[tuple[str, float]], text: str) -> None:
    fused = fuse_reads([_read(t, c) for t, c in reads])
    assert fused is not None
    assert fused.text == text
    assert fused.frames == len(reads)
    assert 0.0 < fused.confidence <= 1.0


def test_agreement_raises_confidence_and_disagreement_lowers_it() -> None:
    agreed = fuse_reads([_read("AB123", 0.8)] * 3)
    split = fuse_reads([_read("AB123", 0.8), _read("XY987", 0.8), _read("AB123", 0.8)])
    assert agreed is not None
    assert split is not None
    assert agreed.confidence == pytest.approx(0.8)
    assert split.confidence < agreed.confidence


def test_nothing_to_fuse_gives_none() -> None:
    assert fuse_reads([]) is None


def test_fusion_does_not_change_the_reads_it_was_given() -> None:
    reads = [_read("AB123"), _read("AB128", 0.2)]
    before = list(reads)
    fuse_reads(reads)
    assert reads == before


@pytest.mark.parametrize(
    ("text", "confidence"), [("", 0.5), ("ab12", 0.5), ("AB-12", 0.5), ("AB12", 1.5)]
)
def test_a_plate_read_refuses_bad_values(text: str, confidence: float) -> None:
    with pytest.raises(ValueError, match="must"):
        PlateRead(text, confidence, PixelBox(0, 0, 1, 1), (text,), "generic")


def test_tracks_follow_a_moving_plate_and_keep_two_vehicles_apart() -> None:
    tracks = PlateTracks(max_gap=3)
    closed = []
    for frame in range(6):
        first = _read("AB123" if frame != 2 else "AB128", 0.9, x=100 + frame * 15, y=300)
        second = _read("LEB3656", 0.8, x=700 - frame * 10, y=200)
        closed += tracks.update(frame, [first, second])
    closed += tracks.update(20, [])
    assert sorted(item.read.text for item in closed) == ["AB123", "LEB3656"]
    by_text = {item.read.text: item for item in closed}
    assert (by_text["AB123"].first_frame, by_text["AB123"].last_frame) == (0, 5)
    assert by_text["AB123"].read.frames == 6


def test_a_fast_plate_misread_once_stays_one_track() -> None:
    """A plate moving 5 of its heights between reads (a fast vehicle read every other
    frame) with one character misread on one frame: one vehicle, one track, one text.
    Measured from where it was last read, the misread would be too far to join."""
    tracks = PlateTracks(max_gap=4)
    closed = []
    for step in range(6):
        text = "LEB3658" if step == 3 else "LEB3656"
        closed += tracks.update(step * 2, [_read(text, 0.9, x=100 + step * 100, y=300)])
    closed += tracks.finish()
    assert [(item.read.text, item.first_frame, item.last_frame) for item in closed] == [
        ("LEB3656", 0, 10)
    ]


def test_a_plate_read_again_after_missed_frames_is_found_where_it_moved() -> None:
    """Reads missed for a few frames: the plate is looked for where its motion took it,
    and a second vehicle standing where the first was last read is not taken for it."""
    tracks = PlateTracks(max_gap=6)
    tracks.update(0, [_read("AB123", x=100, y=300)])
    tracks.update(1, [_read("AB123", x=150, y=300)])
    # Frames 2-4 not read; at frame 5 the plate is 200 px on, misread, and another
    # vehicle's plate sits 60 px behind it.
    tracks.update(5, [_read("AB128", x=350, y=300), _read("KP4411", 0.8, x=160, y=300)])
    done = {item.read.text: item for item in tracks.finish()}
    assert set(done) == {"AB123", "KP4411"}
    assert (done["AB123"].first_frame, done["AB123"].last_frame) == (0, 5)
    assert done["KP4411"].first_frame == 5


def test_a_track_closes_after_the_gap_and_a_return_is_a_new_track() -> None:
    tracks = PlateTracks(max_gap=2)
    assert tracks.update(0, [_read("AB123")]) == []
    assert tracks.update(1, [_read("AB123")]) == []
    closed = tracks.update(5, [])
    assert [item.track for item in closed] == [1]
    tracks.update(6, [_read("AB123")])
    again = tracks.finish()
    assert [item.track for item in again] == [2]


def test_text_that_never_moves_is_marked_stationary() -> None:
    tracks = PlateTracks(max_gap=2)
    for frame in range(8):
        tracks.update(frame, [_read("CAM01", 0.99, x=700, y=10), _read("AB123", x=frame * 20)])
    done = {item.read.text: item for item in tracks.finish()}
    assert done["CAM01"].stationary
    assert not done["AB123"].stationary
    assert done["AB123"].moved == pytest.approx(140 / 20)


def test_an_overlay_read_now_and_then_is_still_text_over_the_whole_video() -> None:
    """The camera's name read on a few frames at a time, once with the line beside it
    (a wider box), comes out as short tracks none of which is stationary alone; over the
    video it never moved. A passing plate read as often did move."""
    tracks = PlateTracks(max_gap=2)
    closed = []
    for frame in range(30):
        reads = []
        if frame in (0, 1, 2, 10, 11, 12, 20):
            reads.append(_read("CAM01", 0.99, x=700, y=10))
        if frame == 21:
            reads.append(
                PlateRead("CAM01", 0.99, PixelBox(700, 10, 400, 20), ("CAM01",), "pk-series")
            )
        if 3 <= frame < 9:
            reads.append(_read("AB123", x=100 + 30 * frame, y=300))
        closed += tracks.update(frame, reads)
    closed += tracks.finish()
    overlay = [t.track for t in closed if t.read.text == "CAM01"]
    passing = [t.track for t in closed if t.read.text == "AB123"]
    assert len(overlay) == 3
    assert not any(t.stationary for t in closed)
    assert still_text(closed) == frozenset(overlay)
    assert not set(passing) & still_text(closed)
    # Read too few times in all to tell: not judged still.
    assert still_text([t for t in closed if t.track == overlay[0]]) == frozenset()
