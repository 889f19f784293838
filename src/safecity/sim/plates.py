"""Pakistani registration numbers and plate designs (DOMAIN.md, "Number plates").

Pure and seeded: the caller passes a ``numpy.random.Generator``. A registration
is 2-4 letters then 2-4 digits; I, O and U are never issued (they read as 1, 0
and V). The designs are approximations of the real ones, close enough for an
ANPR reader to face the same problems:

- Punjab: white field, green band with the province word, a small registration
  year between letters and digits; some cars and all motorcycles two-line.
- Sindh: yellow private, black commercial, green government (GS/GP/SP), with
  "SINDH" printed below the registration.
- Khyber Pakhtunkhwa: white private, yellow commercial, green government, with
  an emblem between letters and digits and the district or province word.
- Islamabad (ICT): white with "ISLAMABAD" above and an emblem at the left.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safecity.sim.truth import PlateCategory, PlateLayout, Province, VehicleClass

PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTVWXYZ"
"""Letters that appear on registrations: the Latin alphabet without I, O and U."""

Colour = tuple[int, int, int]
"""A BGR colour, as OpenCV draws it."""

WHITE: Colour = (242, 244, 244)
BLACK: Colour = (22, 22, 22)
YELLOW: Colour = (20, 200, 245)
PUNJAB_GREEN: Colour = (60, 120, 20)
GOVERNMENT_GREEN: Colour = (50, 100, 25)

# Punjab series start with the district's letter (Lahore, Rawalpindi, Faisalabad,
# Gujranwala, Multan, Sialkot), e.g. LEB 3656, RIZ 3725.
_PUNJAB_DISTRICT_LETTERS = "LRFGMS"
_KP_DISTRICTS = ("PESHAWAR", "MARDAN", "BANNU", "KOHAT", "SWAT", "D.I.KHAN", "ABBOTTABAD")
_SINDH_GOVERNMENT_PREFIXES = ("GS", "GP", "SP")
_PROVINCE_SHARE: dict[Province, float] = {"kp": 0.55, "punjab": 0.2, "sindh": 0.13, "ict": 0.12}
_COMMERCIAL_CLASSES: frozenset[VehicleClass] = frozenset({"bus", "truck", "rickshaw"})


@dataclass(frozen=True)
class PlateDesign:
    """Everything needed to draw one plate, and to describe it in ground truth."""

    letters: str
    digits: str
    province: Province
    category: PlateCategory
    layout: PlateLayout
    year: int | None
    word: str
    """Province or district word printed on the plate."""
    field: Colour
    ink: Colour
    band: Colour | None
    """Colour of the Punjab side/top band, if any."""
    small: bool
    """Motorcycle and rickshaw size."""

    @property
    def registration(self) -> str:
        return self.letters + self.digits

    @property
    def style(self) -> str:
        return f"{self.province}_{self.category}"

    @property
    def separator(self) -> str:
        """Sindh prints its series with a hyphen (AAA-001); others with a space."""
        return "-" if self.province == "sindh" else " "

    @property
    def year_tag(self) -> str | None:
        return None if self.year is None else f"{self.year % 100:02d}"

    def lines(self) -> list[str]:
        """The text as printed, top to bottom; a band word comes first."""
        head = self.letters if self.year_tag is None else f"{self.letters} {self.year_tag}"
        if self.province == "punjab":
            if self.layout == "two_line":
                return [self.word, head, self.digits]
            return [self.word, f"{head} {self.digits}"]
        rows = [self.word] if self.province == "ict" else []
        if self.layout == "two_line":
            rows += [self.letters, self.digits]
        else:
            rows.append(f"{self.letters}{self.separator}{self.digits}")
        if self.province != "ict":
            rows.append(self.word)
        return rows


def _letters(rng: np.random.Generator, count: int, first: str | None = None) -> str:
    chosen = [PLATE_LETTERS[int(i)] for i in rng.integers(0, len(PLATE_LETTERS), size=count)]
    if first is not None:
        chosen[0] = first
    return "".join(chosen)


def _digits(rng: np.random.Generator, count: int, leading_zero: bool) -> str:
    low = 0 if leading_zero else 10 ** (count - 1)
    return f"{int(rng.integers(low, 10**count)):0{count}d}"


def _category(rng: np.random.Generator, vehicle_class: VehicleClass) -> PlateCategory:
    if vehicle_class in _COMMERCIAL_CLASSES:
        return "government" if rng.random() < 0.05 else "commercial"
    roll = rng.random()
    if roll < 0.06:
        return "government"
    if vehicle_class == "van" and roll < 0.4:
        return "commercial"
    return "private"


def _colours(province: Province, category: PlateCategory) -> tuple[Colour, Colour]:
    """Field and ink colours for a province and category (DOMAIN.md)."""
    if category == "government" and province != "punjab":
        return GOVERNMENT_GREEN, WHITE
    if province == "sindh":
        return (BLACK, WHITE) if category == "commercial" else (YELLOW, BLACK)
    if province == "kp" and category == "commercial":
        return YELLOW, BLACK
    return WHITE, BLACK


def _province(rng: np.random.Generator) -> Province:
    names = list(_PROVINCE_SHARE)
    weights = np.array([_PROVINCE_SHARE[name] for name in names])
    return names[int(rng.choice(len(names), p=weights / weights.sum()))]


def generate_plate(rng: np.random.Generator, vehicle_class: VehicleClass) -> PlateDesign:
    """A plausible plate for a vehicle of this class; uniqueness is the caller's job."""
    province = _province(rng)
    category = _category(rng, vehicle_class)
    small = vehicle_class in ("motorcycle", "rickshaw")
    two_line = small or (province == "punjab" and rng.random() < 0.3) or rng.random() < 0.08
    layout: PlateLayout = "two_line" if two_line else "one_line"
    year: int | None = None
    band: Colour | None = None
    if province == "punjab":
        letters = _letters(rng, 3, first=_PUNJAB_DISTRICT_LETTERS[int(rng.integers(0, 6))])
        digits = _digits(rng, int(rng.integers(3, 5)), leading_zero=False)
        year, band, word = int(rng.integers(2007, 2026)), PUNJAB_GREEN, "PUNJAB"
    elif province == "sindh":
        if category == "government":
            letters = _SINDH_GOVERNMENT_PREFIXES[int(rng.integers(0, 3))]
            digits = _digits(rng, 4, leading_zero=False)
        else:
            letters = _letters(rng, 3)
            digits = _digits(rng, 3, leading_zero=True)
        word = "SINDH"
    elif province == "kp":
        letters = _letters(rng, int(rng.integers(2, 4)))
        digits = _digits(rng, int(rng.integers(2, 5)), leading_zero=False)
        district = rng.random() < 0.7
        word = _KP_DISTRICTS[int(rng.integers(0, len(_KP_DISTRICTS)))] if district else "KP"
    else:
        letters = _letters(rng, int(rng.integers(2, 4)))
        digits = _digits(rng, int(rng.integers(2, 5)), leading_zero=False)
        word = "ISLAMABAD"
    field, ink = _colours(province, category)
    return PlateDesign(
        letters=letters,
        digits=digits,
        province=province,
        category=category,
        layout=layout,
        year=year,
        word=word,
        field=field,
        ink=ink,
        band=band,
        small=small,
    )


def plate_size_m(design: PlateDesign) -> tuple[float, float]:
    """Physical width and height of the plate, metres."""
    if design.small:
        return 0.26, 0.17
    if design.layout == "two_line":
        return 0.34, 0.22
    return 0.46, 0.14
