"""Table metadata of the integrated zone, one entry per table, in one place.

The jobs read keys from here and write these properties onto the Delta tables
(``kho.owner``, ``kho.pii_columns`` ...); the catalog reads them too. Processed tables carry
the same metadata in their :class:`~kho.processed.base.ProcessedTable` declarations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kho.lake import TableRef, Zone

HISTORY = ("valid_from", "valid_to", "is_current", "is_deleted", "attributes_hash", "_changed_batch")


@dataclass(frozen=True)
class TableMeta:
    ref: TableRef
    description: str
    term_vi: str
    owner: str
    keys: tuple[str, ...]
    pii_columns: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    column_docs: dict[str, str] = field(default_factory=dict)

    def properties(self) -> dict[str, str]:
        """Delta table properties (strings), written by the job that owns the table."""
        return {"comment": f"{self.description} ({self.term_vi})", "kho.owner": self.owner,
                "kho.zone": self.ref.zone.value, "kho.keys": ",".join(self.keys),
                "kho.pii_columns": ",".join(self.pii_columns), "kho.partition_by": ",".join(self.partition_by),
                "kho.sources": ",".join(self.sources), "kho.term_vi": self.term_vi}


PLATFORM = "Sở Khoa học và Công nghệ (data platform team)"

CITIZEN = TableMeta(
    ref=TableRef(Zone.INTEGRATED, "citizen", "citizen"),
    description="Citizens with their history (SCD2); master key citizen_key = HMAC pseudonym of the CCCD",
    term_vi="công dân", owner=PLATFORM, keys=("citizen_key",),
    pii_columns=("cccd", "full_name", "birth_date", "address"),
    sources=("processed/population/citizen",),
    column_docs={"citizen_key": "keyed pseudonym of the CCCD (mã định danh ẩn danh); the only citizen id marts see",
                 "cccd": "personal identification number (số định danh cá nhân), PII, never leaves this zone",
                 **{c: c.replace("_", " ") for c in ("full_name", "birth_date", "sex", "commune_code", "address")}},
)

ADMIN_UNIT = TableMeta(
    ref=TableRef(Zone.INTEGRATED, "reference", "admin_unit"),
    description="The 114 commune-level units of Hai Phong since 2025-07-01, with their pre-2025 predecessors",
    term_vi="đơn vị hành chính cấp xã", owner="Sở Nội vụ (Department of Home Affairs)", keys=("unit_code",),
    sources=("kho/reference/admin_units.csv", "kho/reference/admin_unit_crosswalk.csv"),
    column_docs={"unit_code": "official 5-digit code (mã đơn vị hành chính)", "unit_name": "name (tên)",
                 "unit_type": "phuong / xa / dac_khu", "predecessor_codes": "pre-2025 unit codes merged into it",
                 "split_predecessor_codes": "pre-2025 units split between it and others"},
)

CITIZEN_LINK = TableMeta(
    ref=TableRef(Zone.INTEGRATED, "citizen", "citizen_link"),
    description="Links from every processed record naming a person by CCCD to the citizen, with match status",
    term_vi="liên kết công dân", owner=PLATFORM, keys=("source_table", "role", "record_id"),
    # registers keyed by the person (insurance, labour) have the CCCD as their record id: the
    # column is a join key back to processed, tagged PII, and no mart selects it
    pii_columns=("record_id",),
    sources=("processed/civil_status/*", "processed/insurance/*", "processed/labour/*"),
    column_docs={"record_id": "the processed record's id (its raw key as text; the clear CCCD for registers "
                              "keyed by person, hence PII: for joins inside the lake only)",
                 "citizen_key": "pseudonym of the CCCD (also for unmatched people)",
                 "match_status": "matched / ambiguous (birth date disagrees) / unmatched / no_key",
                 "role": "who the person is in the record (birth.mother, insurance.participant ...)"},
)

BUSINESS = TableMeta(
    ref=TableRef(Zone.INTEGRATED, "enterprise", "business"),
    description="Enterprises and household businesses with their history (SCD2); master key DN:<tax code> or "
                "HKD:<registration number>",
    term_vi="doanh nghiệp và hộ kinh doanh", owner=PLATFORM, keys=("business_key",),
    pii_columns=("owner_key",),
    sources=("processed/business_registration/enterprise", "processed/business_registration/household_business"),
    column_docs={"business_key": "DN:<enterprise tax code> (public) or HKD:<household registration no>",
                 "owner_key": "keyed pseudonym of a household owner's CCCD or personal tax code (never clear)",
                 "tax_code": "enterprise tax code (mã số doanh nghiệp), public; null for households"},
)

BUSINESS_LINK = TableMeta(
    ref=TableRef(Zone.INTEGRATED, "enterprise", "business_link"),
    description="Permits, certificates and land transactions linked to businesses by tax code",
    term_vi="liên kết doanh nghiệp", owner=PLATFORM, keys=("source_table", "role", "record_id"),
)

PARCEL = TableMeta(
    ref=TableRef(Zone.INTEGRATED, "land", "parcel"),
    description="Land parcels with their current certificate and history (SCD2); key commune|map sheet|parcel",
    term_vi="thửa đất", owner="Sở Nông nghiệp và Môi trường (Department of Agriculture and Environment)",
    keys=("parcel_key",), pii_columns=("certificate_holder_ref",),
    sources=("processed/land/land_parcel", "processed/land/land_certificate"),
    column_docs={"parcel_key": "<commune code>|<map sheet>|<parcel no> (số tờ, số thửa)",
                 "certificate_holder_ref": "DN:<tax code> for organisations, keyed pseudonym for persons"},
)

PARCEL_LINK = TableMeta(
    ref=TableRef(Zone.INTEGRATED, "land", "parcel_link"),
    description="Certificates, permits and transactions linked to parcels by parcel key",
    term_vi="liên kết thửa đất", owner=PLATFORM, keys=("source_table", "role", "record_id"),
)

MATCH_STATS = TableMeta(
    ref=TableRef(Zone.SYSTEM, "integration", "match_stats"),
    description="Cross-source link statistics per run: matched, unmatched, ambiguous by source and key",
    term_vi="thống kê liên kết dữ liệu", owner=PLATFORM, keys=("run_batch", "entity", "source", "link_key"),
)

TABLES = {str(t.ref): t for t in (CITIZEN, CITIZEN_LINK, ADMIN_UNIT, BUSINESS, BUSINESS_LINK, PARCEL, PARCEL_LINK,
                                     MATCH_STATS)}
