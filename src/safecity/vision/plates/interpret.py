"""From recognised lines to a registration: drop printed words, try each format rule.

The recogniser returns the lines of a plate candidate as tokens of character
slots. Province words, district names, slogans and (where the rule set says so)
registration-year tags are printed on plates but are not the number; which
tokens belong to the registration is not known in advance, so every plausible
choice (contiguous tokens of one line, or of two stacked lines for two-line
plates) is scored against every rule and the cheapest reading wins. Dropping a
token that is not a known word costs a little, so a reading keeps everything it
can explain.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from safecity.vision.plates.lattice import CharSlot, LineRead, Token
from safecity.vision.plates.result import GENERIC_RULE
from safecity.vision.plates.rules import DIGITS, LATIN, CharClass, FormatRule, FormatRules

_DROP_COST_PER_CHAR = 0.35
_WORD_BONUS = 0.5
_MAX_ALT_COST = 6.0
_YEAR_PREFIXES = ("19", "20")
_SHORT_TOKEN = 2
_GAP_COST = 0.3


@dataclass(frozen=True)
class Interpretation:
    """The registration a candidate most plausibly carries."""

    text: str
    lines: tuple[str, ...]
    rule: str
    confidence: float
    cost: float


def normalise_text(raw: str) -> str:
    """Upper case, Latin letters and digits only (the form every plate text is stored in)."""
    return "".join(char for char in raw.upper() if char in LATIN or char in DIGITS)


def interpret(lines: Sequence[LineRead], rules: FormatRules) -> Interpretation | None:
    """The cheapest reading of ``lines`` (top to bottom) under ``rules``, or None."""
    words = _seen_words(lines, rules)
    kept = [_without_words(line, rules) for line in lines]
    best: Interpretation | None = None
    for choice, dropped_chars in _choices(kept, rules):
        total_chars = sum(len(token) for row in choice for token in row)
        if total_chars == 0:
            continue
        found = _best_match(choice, rules, words)
        if found is None:
            continue
        found = Interpretation(
            text=found.text,
            lines=found.lines,
            rule=found.rule,
            confidence=found.confidence,
            cost=found.cost + dropped_chars * _DROP_COST_PER_CHAR,
        )
        if best is None or _better(found, best):
            best = found
    if best is None or not rules.same_characters:
        return best
    # Filed only now: mapped before matching, a word's O would count as the digit a
    # generic registration needs ("GOPENSKE" on a truck would pass as "G0PENSKE"). The
    # rule named is the one the recogniser's own characters matched.
    return Interpretation(
        text=rules.file_as(best.text),
        lines=tuple(rules.file_as(line) for line in best.lines),
        rule=best.rule,
        confidence=best.confidence,
        cost=best.cost,
    )


def _better(found: Interpretation, best: Interpretation) -> bool:
    """Cheaper, or as cheap and explaining more of the characters read.

    Leaving a line out is free (a misread province word must not cost the registration
    above it), so on a two-line plate the upper line alone can fit a rule as cheaply as
    both lines: Punjab's ``LMF 23`` above ``7880`` read as LMF23, the year tag taken for
    the digits and the lower line dropped. Within one line the longer reading already
    comes first (trims cost, a year tag kept is tried before it is left out)."""
    if found.cost < best.cost - 1e-9:
        return True
    return found.cost <= best.cost + 1e-9 and len(found.text) > len(best.text)


def _seen_words(lines: Sequence[LineRead], rules: FormatRules) -> frozenset[str]:
    seen = set()
    for line in lines:
        for word in line.words:
            for known in _known_word(word, rules):
                seen.add(known)
    return frozenset(seen)


def _known_word(word: str, rules: FormatRules) -> Iterator[str]:
    for known in rules.ignore_words:
        if word == known or (len(known) >= 5 and _within_one_edit(word, known)):
            yield known


def _within_one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def _without_words(line: LineRead, rules: FormatRules) -> tuple[Token, ...]:
    kept = []
    for token, word in zip(line.tokens, line.words, strict=True):
        if any(True for _ in _known_word(word, rules)):
            continue
        kept.append(token)
    return tuple(kept)


Choice = tuple[tuple[Token, ...], ...]


def _choices(
    lines: Sequence[tuple[Token, ...]], rules: FormatRules
) -> Iterator[tuple[Choice, int]]:
    """The tokens of one line, or of two consecutive lines (upper then lower), with short
    tokens (stickers, bolts, emblems read as a letter) at either end optionally left out;
    yields each choice with the number of characters trimmed from the lines it uses
    (other lines and year tags are free to leave out)."""
    for index, line in enumerate(lines):
        single = sum(len(token) for token in line)
        rows: list[tuple[Choice, int]] = [((part,), single) for part in _trims(line)]
        if index + 1 < len(lines):
            double = single + sum(len(token) for token in lines[index + 1])
            rows += [
                ((upper, lower), double)
                for upper in _trims(line)
                for lower in _trims(lines[index + 1])
            ]
        for row, total in rows:
            trimmed = total - sum(len(token) for part in row for token in part)
            for picked in _year_rows(row, rules):
                yield picked, trimmed


def _trims(line: tuple[Token, ...]) -> list[tuple[Token, ...]]:
    """The line, and the line without short tokens at its start and/or end."""
    found = [line]
    start, end = 0, len(line)
    while start < end - 1 and len(line[start]) <= _SHORT_TOKEN:
        start += 1
        found.append(line[start:])
    while end > start + 1 and len(line[end - 1]) <= _SHORT_TOKEN:
        end -= 1
        found.append(line[:end])
        found.append(line[start:end])
    return [part for part in found if part]


def _year_rows(row: Choice, rules: FormatRules) -> Iterator[Choice]:
    yield row
    for index, part in enumerate(row):
        for variant in list(_year_variants(part, rules))[1:]:
            yield (*row[:index], variant, *row[index + 1 :])


def _year_variants(tokens: tuple[Token, ...], rules: FormatRules) -> Iterator[tuple[Token, ...]]:
    yield tokens
    if not rules.drop_year_tags or len(tokens) < 2:
        return
    for position, token in enumerate(tokens):
        text = "".join(slot.best for slot in token)
        is_year = (len(text) == 2 and text.isdigit()) or (
            len(text) == 4 and text.isdigit() and text.startswith(_YEAR_PREFIXES)
        )
        if is_year and position > 0:
            yield tokens[:position] + tokens[position + 1 :]


@dataclass(frozen=True)
class _Fit:
    chars: str
    probs: tuple[float, ...]
    cost: float


def _best_match(choice: Choice, rules: FormatRules, words: frozenset[str]) -> Interpretation | None:
    slots = [slot for row in choice for token in row for slot in token]
    row_lengths = [sum(len(token) for token in row) for row in choice]
    best: Interpretation | None = None
    for rule in rules.rules:
        bonus = _WORD_BONUS if words.intersection(rule.words) else 0.0
        for kept, extra in _gap_variants(slots, rule):
            fit = _fit_rule([slots[i] for i in kept], rule, rules)
            if fit is None or fit.cost > rules.max_cost:
                continue
            cost = fit.cost + extra + rule.prior_cost - bonus
            if not rule.leading_zero and _digits_start_with_zero(fit.chars):
                cost += rules.leading_zero_cost
            lengths = _kept_row_lengths(kept, row_lengths)
            found = _interpretation(fit, lengths, rule.name, cost)
            if best is None or found.cost < best.cost - 1e-9:
                best = found
    generic = rules.generic
    if generic.enabled and generic.min_length <= len(slots) <= generic.max_length:
        chars = "".join(slot.best for slot in slots)
        has_digit = any(char in DIGITS for char in chars)
        has_letter = any(char in LATIN for char in chars)
        shaped = (has_digit or not generic.needs_digit) and (has_letter or not generic.needs_letter)
        if generic.lower_line_digit and len(row_lengths) == 2:
            shaped = shaped and any(char in DIGITS for char in chars[row_lengths[0] :])
        if shaped and not (generic.reject_dates and is_date_or_year(chars)):
            fit = _Fit(chars, tuple(slot.best_prob for slot in slots), 0.0)
            penalty = generic.penalty + (0.0 if has_letter else generic.digits_only_penalty)
            found = _interpretation(fit, row_lengths, GENERIC_RULE, penalty)
            # At equal cost, the text as the recogniser read it beats a rule that only fits
            # after substituting characters the recogniser did not choose.
            tie = best is not None and abs(found.cost - best.cost) <= 1e-9
            substituted = best is not None and len(best.text) == len(chars) and best.text != chars
            if best is None or found.cost < best.cost - 1e-9 or (tie and substituted):
                best = found
    return best


def is_date_or_year(text: str) -> bool:
    """Digits that read as a calendar date (YYYYMMDD, DDMMYYYY, MMDDYYYY, or YYYYMM when
    the day was cut off as a short token) or a year (19xx, 20xx): a camera's burned-in
    timestamp or a registration sticker, not a number."""
    if not text.isdigit():
        return False
    if len(text) == 4:
        return text.startswith(_YEAR_PREFIXES)
    if len(text) == 6:
        return text.startswith(_YEAR_PREFIXES) and 1 <= int(text[4:]) <= 12
    if len(text) != 8:
        return False
    for year, first, second in ((text[:4], text[4:6], text[6:]), (text[4:], text[:2], text[2:4])):
        if not year.startswith(_YEAR_PREFIXES):
            continue
        for month, day in ((first, second), (second, first)):
            if 1 <= int(month) <= 12 and 1 <= int(day) <= 31:
                return True
    return False


def _gap_variants(slots: Sequence[CharSlot], rule: FormatRule) -> Iterator[tuple[list[int], float]]:
    """All slots, and (if the rule prints something between letters and digits: a
    year tag, an emblem) the slots without 1..gap characters right after the letters."""
    everything = list(range(len(slots)))
    yield everything, 0.0
    first = rule.segments[0]
    if rule.gap == 0 or first.kind != "L":
        return
    for letters in range(first.low, first.high + 1):
        for dropped in range(1, rule.gap + 1):
            if letters + dropped >= len(slots):
                break
            kept = everything[:letters] + everything[letters + dropped :]
            # Dropping the whole gap is the expected case; fewer means part of it was lost.
            yield kept, _GAP_COST * (rule.gap - dropped + 1)


def _digits_start_with_zero(chars: str) -> bool:
    for index, char in enumerate(chars):
        if char in DIGITS:
            return char == "0" and index > 0
    return False


def _kept_row_lengths(kept: list[int], row_lengths: list[int]) -> list[int]:
    bounds, start = [], 0
    for length in row_lengths:
        bounds.append((start, start + length))
        start += length
    return [sum(1 for index in kept if low <= index < high) for low, high in bounds]


def _interpretation(fit: _Fit, row_lengths: list[int], rule: str, cost: float) -> Interpretation:
    lines, start = [], 0
    for length in row_lengths:
        lines.append(fit.chars[start : start + length])
        start += length
    confidence = sum(fit.probs) / len(fit.probs) if fit.probs else 0.0
    return Interpretation(
        text=fit.chars,
        lines=tuple(line for line in lines if line),
        rule=rule,
        confidence=min(1.0, max(0.0, confidence)),
        cost=cost,
    )


def _fit_rule(slots: Sequence[CharSlot], rule: FormatRule, rules: FormatRules) -> _Fit | None:
    """Dynamic programme over (segment, characters used): the cheapest class assignment."""
    count = len(slots)
    if not rule.min_length <= count <= rule.max_length:
        return None
    segments = rule.segments
    # per position and class: (cost, char, prob)
    options = {
        kind: [_coerce(slot, rule.allowed(kind), rules) for slot in slots]
        for kind in {segment.kind for segment in segments}
    }
    inf = math.inf
    table: list[list[float]] = [[inf] * (count + 1) for _ in range(len(segments) + 1)]
    back: list[list[int]] = [[-1] * (count + 1) for _ in range(len(segments) + 1)]
    table[0][0] = 0.0
    for index, segment in enumerate(segments):
        column = options[segment.kind]
        for used in range(count + 1):
            if table[index][used] == inf:
                continue
            running = table[index][used]
            for length in range(1, segment.high + 1):
                end = used + length
                if end > count:
                    break
                running += column[end - 1][0]
                if running == inf:
                    break
                if length >= segment.low and running < table[index + 1][end]:
                    table[index + 1][end] = running
                    back[index + 1][end] = used
    if table[len(segments)][count] == inf:
        return None
    kinds: list[CharClass] = ["X"] * count
    end = count
    for index in range(len(segments), 0, -1):
        start = back[index][end]
        for position in range(start, end):
            kinds[position] = segments[index - 1].kind
        end = start
    chosen = [options[kind][position] for position, kind in enumerate(kinds)]
    return _Fit(
        chars="".join(option[1] for option in chosen),
        probs=tuple(option[2] for option in chosen),
        cost=table[len(segments)][count],
    )


def _coerce(slot: CharSlot, allowed: str, rules: FormatRules) -> tuple[float, str, float]:
    """(cost, character, probability) of reading ``slot`` as one of ``allowed``."""
    best_char, best_prob = slot.choices[0]
    if best_char in allowed:
        return (0.0, best_char, best_prob)
    options: list[tuple[float, str, float]] = []
    for char, prob in slot.choices[1:]:
        if char in allowed and prob > 0:
            cost = min(_MAX_ALT_COST, math.log(max(best_prob, 1e-9) / prob))
            options.append((cost, char, prob))
            break
    look_alike = (
        rules.digit_for(best_char) if best_char in LATIN else rules.letter_for(best_char, allowed)
    )
    if look_alike is not None and look_alike in allowed:
        options.append((rules.confusion_cost, look_alike, best_prob * 0.5))
    if not options:
        return (math.inf, best_char, 0.0)
    return min(options, key=lambda option: option[0])
