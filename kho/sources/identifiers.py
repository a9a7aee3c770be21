"""Identifier formats of the source systems and what clerks, spreadsheets and typists do to them.

* Tax codes (mã số thuế / mã số doanh nghiệp): 10 digits, the last a check digit
  (weights 31, 29, 23, 19, 17, 13, 7, 5, 3; ``10 - sum mod 11``; prefixes whose check would
  be 10 are never issued) [verify against the tax authority's rule], optionally ``-NNN`` for
  a branch.
* CCCD (căn cước công dân): 12 digits, province prefix (3), century/sex digit, 2-digit birth
  year, 6-digit serial; the population numbers serials as a bijection of a per-group
  counter (``population._Serials``), which lets :func:`unknown_cccd` / :func:`nobody_cccd`
  make well-formed numbers that nobody has.
* BHXH codes (mã số bảo hiểm xã hội): 10 digits (:func:`bhxh_code`).

Every malformation takes the generator's ``random.Random`` so output stays deterministic.
Two CCCD malformations exist on purpose, because two kinds of system spoil numbers
differently: :func:`malformed_cccd` (hand-kept social registers: an old 9-digit CMND, a
space) and :func:`mistyped_cccd` (business and land registers: a dash, lost leading zeros).
"""

from __future__ import annotations

import random
import zlib
from typing import Any

# -- tax codes ---------------------------------------------------------------------------
_TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def tax_check_digit(first9: str) -> int | None:
    """The check digit of a 10-digit tax code, or None when the nine digits can never be issued."""
    if len(first9) != 9 or not first9.isdigit():
        raise ValueError(f"need nine digits, got {first9!r}")
    check = 10 - sum(w * int(d) for w, d in zip(_TAX_WEIGHTS, first9)) % 11
    return None if check == 10 else check


def is_valid_tax_code(code: str | None) -> bool:
    """10 digits (optionally '-' + 3-digit branch suffix), non-zero province and sequence, right check digit."""
    if not code:
        return False
    main, _, branch = code.partition("-")
    if len(main) != 10 or not main.isdigit() or (branch and (len(branch) != 3 or not branch.isdigit() or branch == "000")):
        return False
    if main[:2] == "00" or main[2:9] == "0000000":
        return False
    return tax_check_digit(main[:9]) == int(main[9])


def make_tax_code(prefix: str, body: int) -> tuple[str, int]:
    """The first issuable code at or after ``body`` (7 digits) for a 2-digit prefix -> (code, body used)."""
    while True:
        first9 = f"{prefix}{body:07d}"
        check = tax_check_digit(first9)
        if check is not None:
            return first9 + str(check), body
        body += 1


def bad_check_tax_code(code: str, rng: random.Random) -> str:
    """Same code with a wrong (but digit) check digit: format-valid, fails the checksum."""
    good = code[9]
    return code[:9] + rng.choice([d for d in "0123456789" if d != good]) + code[10:]


def malformed_tax_code(code: str, rng: random.Random) -> str:
    """What spreadsheets and typists do to a tax code."""
    variant = rng.randrange(4)
    if variant == 0:
        return code.lstrip("0") if code.startswith("0") else code[1:]          # lost leading zero: 9 digits
    if variant == 1:
        return f"{code[:4]} {code[4:7]} {code[7:]}"
    if variant == 2:
        i = rng.randrange(2, 10)
        return code[:i] + "O" + code[i + 1:]
    return code + str(rng.randrange(10))


# -- CCCDs ---------------------------------------------------------------------------------
def unknown_cccd(cccd: str, rng: random.Random) -> str:
    """A CCCD of the same province, sex and birth year that the population never issued.

    The population numbers the six serial digits as a bijection of a per-group counter
    (``population._Serials``); counters near one million are never reached, so their
    serials match nobody. Tested against the generator so a change there is caught.
    """
    prefix, digit, yy = cccd[:3], int(cccd[3]), int(cccd[4:6])
    year = 1900 + 100 * (digit // 2) + yy
    offset = zlib.crc32(repr((prefix, digit, year)).encode()) % 1_000_000
    n = 999_999 - rng.randrange(100_000)
    return f"{prefix}{digit}{yy:02d}{(n * 738_017 + offset) % 1_000_000:06d}"


def typo_cccd(cccd: str, rng: random.Random) -> str:
    chars = list(cccd)
    if rng.random() < 0.5:   # two adjacent digits swapped
        for _ in range(10):
            i = rng.randrange(3, len(chars) - 1)
            if chars[i] != chars[i + 1]:
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
                return "".join(chars)
    i = rng.randrange(3, len(chars))
    chars[i] = str((int(chars[i]) + rng.randint(1, 9)) % 10)
    return "".join(chars)


def malformed_cccd(cccd: str, rng: random.Random) -> str:
    """What a CCCD becomes in hand-kept registers: cut, padded, an old 9-digit CMND, O for 0."""
    return rng.choice((cccd[:-1], cccd + str(rng.randint(0, 9)), cccd[3:], cccd.replace("0", "O", 1),
                       f"{cccd[:6]} {cccd[6:]}", f"{rng.randint(10, 19)}{rng.randrange(10**7):07d}"))


def nobody_cccd(cccd: str, rng: random.Random) -> str:
    """A well-formed CCCD in the same (province, century/sex, birth year) group that no citizen has.

    population.py gives the n-th citizen of a group the serial (n * 738017 + crc32(group)) mod 10^6;
    a group never holds 500,000 people (the whole merged city is 4.7 million over ~100 birth years,
    two sexes and dozens of provinces), so serials for n >= 600,000 are nobody's.
    """
    prefix, digit, yy = cccd[:3], int(cccd[3]), int(cccd[4:6])
    year = (1900 if digit in (0, 1) else 2000 if digit in (2, 3) else 2100) + yy
    offset = zlib.crc32(repr((prefix, digit, year)).encode()) % 1_000_000
    n = rng.randrange(600_000, 1_000_000)
    return f"{cccd[:6]}{(n * 738_017 + offset) % 1_000_000:06d}"


def mistyped_cccd(cccd: str, rng: random.Random) -> str:
    """What a CCCD becomes when typed into a business or land register: cut, padded, O for 0, a dash, lost leading zeros."""
    return rng.choice((cccd[:-1], cccd + str(rng.randrange(10)), cccd[:5] + "O" + cccd[6:], cccd[:6] + "-" + cccd[6:],
                       cccd.lstrip("0")))


# -- BHXH codes ----------------------------------------------------------------------------
def bhxh_code(person: Any, second: bool = False) -> str:
    """A person's 10-digit BHXH code from their population index and CCCD (``second``: the
    duplicate one a clerk issued again). ``person`` has ``idx`` and ``cccd``."""
    n = person.idx + (50_000_000 if second else 0)
    return f"{person.cccd[1:3]}{(n * 48_271 + 12_345) % 100_000_000:08d}"
