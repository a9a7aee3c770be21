"""PySpark jobs: one module per job, each with ``run(spark, settings, ...)`` and ``main(argv)``.

``run`` is what an Airflow task calls in-process on the embedded profile; ``main`` is what
spark-submit calls on a cluster. Both take the same arguments and return/print the same
JSON-able summary.
"""
