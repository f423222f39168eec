"""Publishing a Spark run to a cluster filesystem (``--out hdfs://…``, ``s3a://…``).

Scores and rejects are written by Spark as Parquet datasets (scores partitioned
by tier, so a branch's analyst reads only the tiers she needs); summary.json,
manifest.json and report.html are written by the driver through pyarrow's
filesystems. As locally, everything goes to a staging folder inside ``--out``
first and is moved into place only when all of it is written.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .errors import ConfigError
from .pipeline import Result
from .publish import Extras, manifest
from .report import render_html

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DATASETS = ("scores", "rejects")


def publish_uri(
    spark: SparkSession, result: Result, out: str, *, scores: bool = True, extras: Extras
) -> dict[str, str]:
    """Write the run under the URI ``out``; returns output name -> URI."""
    from pyarrow import fs

    if extras.split or extras.xlsx:
        raise ConfigError("--split and --xlsx write local files; give a local --out", key="--out")
    started, clock = datetime.now(UTC), time.perf_counter()
    filesystem, root = fs.FileSystem.from_uri(out)
    root = root.rstrip("/")
    staging = f"{root}/_tierscore-staging-{uuid.uuid4().hex}"
    filesystem.create_dir(staging)
    try:
        written = _datasets(spark, result, _uri_of(out, staging), scores)
        texts: dict[str, str] = {}
        if scores:
            texts["summary.json"] = _json(result.summary)
        timings = {**result.timings, "write": time.perf_counter() - clock}
        facts = manifest(result, {}, timings, started)
        if scores and extras.report:
            texts["report.html"] = render_html(result.summary, facts, extras.lang)
        facts["outputs"] = [{"file": name} for name in [*written, *texts]]
        texts["manifest.json"] = _json(facts)
        for name, text in texts.items():
            with filesystem.open_output_stream(f"{staging}/{name}") as stream:
                stream.write(text.encode("utf-8"))
        names = [*written, *texts]
        _move_into(filesystem, staging, root, names, replace=scores)
        return {name: _uri_of(out, f"{root}/{name}") for name in names}
    finally:
        if filesystem.get_file_info(staging).type != fs.FileType.NotFound:
            filesystem.delete_dir(staging)


def _datasets(spark: SparkSession, result: Result, staging: str, scores: bool) -> list[str]:
    written = []
    if scores:
        frame = result.cluster_scores  # left on the cluster by the run
        if frame is None:
            frame = spark.createDataFrame(result.scores.to_arrow())
        frame.write.partitionBy("tier").parquet(f"{staging}/scores")
        written.append("scores")
    spark.createDataFrame(result.rejects.to_arrow()).write.parquet(f"{staging}/rejects")
    written.append("rejects")
    return written


def _move_into(filesystem: Any, staging: str, root: str, names: list[str], replace: bool) -> None:
    """Move each output over the earlier one; with scores, earlier outputs this run did
    not write go too, so the folder never mixes two runs."""
    from pyarrow import fs

    earlier = ["scores", "summary.json", "report.html"] if replace else []
    for name in {*names, *earlier}:
        target = filesystem.get_file_info(f"{root}/{name}")
        if target.type == fs.FileType.Directory:
            filesystem.delete_dir(target.path)
        elif target.type == fs.FileType.File:
            filesystem.delete_file(target.path)
        if name in names:
            filesystem.move(f"{staging}/{name}", f"{root}/{name}")


def _uri_of(out: str, path: str) -> str:
    """``path`` on the filesystem of the URI ``out``, as a URI Spark can write to."""
    parts = urlparse(out)
    return f"{parts.scheme}://{parts.netloc}{path}"


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
