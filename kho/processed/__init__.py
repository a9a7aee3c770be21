"""The processed zone: per-domain cleaning rules (pure Arrow) declared as :class:`ProcessedTable` s.

``kho/processed/<domain>.py`` holds the rules of one domain and a ``TABLES`` list; the Spark
job ``spark_jobs/processed.py`` runs any of them (incrementally, with quarantine,
survivorship and reconciliation). See :mod:`kho.processed.base`.
"""
