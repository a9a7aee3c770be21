"""Vectorised cleaning and validation rules of the processed zone (kho.standardise).

The per-domain Spark processed jobs call these inside ``mapInArrow`` / ``mapInPandas`` on
whole batches: columns in (pyarrow arrays, pandas Series or lists), Arrow arrays out, each
rule returning the cleaned values *and* a per-row reason code (null when fine) from
:data:`kho.standardise.reasons.REASONS`, which extends kho.cleaning's quarantine codes.

Where a rule exists in kho.cleaning (NFC, names, dates, sex, CCCD, unit codes) the result
is the same row by row; the tests compare both on generated population data. Modules:

========================  ==================================================================
``text``                  NFC and spacing, name case, diacritic test, ASCII fold, tone marks
``names``                 diacritic restoration of unaccented names (position- and sex-aware)
``dates``                 dates, month periods, timestamps (formats are tables)
``identifiers``           CCCD, enterprise tax codes, phone numbers
``codes``                 sex and yes/no codes written many ways
``money``                 "5.310.000" VND text -> integer
``units``                 unit codes through the versioned crosswalk; communes in addresses
``population``            the whole population batch, as spark_jobs.population_processed does
``reasons``               the reason codes with their sentences and severities
========================  ==================================================================
"""

from __future__ import annotations

from kho.standardise._arrow import Cleaned
from kho.standardise.codes import normalize_codes, normalize_sex, normalize_yes_no
from kho.standardise.dates import parse_dates, parse_periods, parse_timestamps
from kho.standardise.identifiers import check_cccd, check_tax_codes, normalize_phones
from kho.standardise.money import parse_vnd
from kho.standardise.names import NameDictionary, default_dictionary, restore_diacritics
from kho.standardise.population import clean_population
from kho.standardise.reasons import REASONS, SEVERITY
from kho.standardise.text import fold, has_diacritics, nfc, normalize_tone_marks, standardize_names
from kho.standardise.units import UnitsResolved, match_address_units, resolve_unit_codes

__all__ = [
    "Cleaned", "UnitsResolved", "REASONS", "SEVERITY",
    "nfc", "standardize_names", "has_diacritics", "fold", "normalize_tone_marks",
    "NameDictionary", "default_dictionary", "restore_diacritics",
    "parse_dates", "parse_periods", "parse_timestamps",
    "check_cccd", "check_tax_codes", "normalize_phones",
    "normalize_codes", "normalize_sex", "normalize_yes_no",
    "parse_vnd",
    "resolve_unit_codes", "match_address_units",
    "clean_population",
]
