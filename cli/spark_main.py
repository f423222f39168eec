"""A file for ``spark-submit`` to run: the same command line as ``tierscore``.

    spark-submit [options] .../tierscore/cli/spark_main.py score --engine spark ...

spark-submit wants a Python file rather than a console script; under it the
Spark engine takes the session spark-submit configured.
"""

from tierscore.cli.main import main

if __name__ == "__main__":
    main()
