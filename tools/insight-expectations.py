"""Write testdata/insight-expectations.json: for every workload log x each of the 12 insight kinds,
"fire" | "silent" | "any", decided from what the workload does and checked against the evidence
measured in the log itself (tools/insight-evidence.py, independent of sparkplane).

Usage:  python tools/insight-expectations.py [--write testdata/insight-expectations.json]

The decision per workload is the table WORKLOAD_EXPECTATIONS below (keyed by workload directory
name, so it survives regeneration with new app ids). `check()` then verifies each "fire" and
"silent" against the measured evidence with the CRITERIA thresholds and fails loudly when the
run did not produce the effect (e.g. a "spill" run without spilled bytes). "any" is used only
where the run is genuinely ambiguous; the reason is in the entry's "notes".
"""
import importlib.util, json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = ["data_skew", "spill", "small_files", "task_failures", "job_failure", "tiny_tasks",
         "low_core_utilization", "gc_pressure", "large_broadcast", "python_udf", "nested_loop_join",
         "driver_idle"]

# What the evidence must show (measured by tools/insight-evidence.py) for "fire" / "silent".
# These are the checks of this table, not sparkplane's rule thresholds — but a sane rule must
# agree with every fire/silent cell.
CRITERIA = {
    "data_skew": "fire: some stage's slowest task >= 5x its median duration AND reads >= 4x the median "
                 "bytes (input + shuffle read); silent: no stage with both ratios >= 2.5 (with >= 3 tasks)",
    "spill": "fire: memory or disk bytes spilled > 0; silent: both 0",
    "small_files": "fire: >= 200 files read or written with average size < 1 MiB; silent: < 50 files or avg >= 1 MiB",
    "task_failures": "fire: >= 1 failed task attempt (reason other than Success/TaskKilled); silent: 0 failed",
    "job_failure": "fire: >= 1 job with a result other than JobSucceeded; silent: all jobs succeeded",
    "tiny_tasks": "fire: >= 1000 successful tasks with median duration <= 100 ms; silent: < 200 tasks or median >= 500 ms",
    "low_core_utilization": "fire: executor run time / (cores x app duration) < 0.2 and app >= 60 s; "
                            "silent: utilization >= 0.6",
    "gc_pressure": "fire: JVM GC time >= 20% of executor run time; silent: < 10%",
    "large_broadcast": "fire: a BroadcastExchange 'data size' >= 100 MiB; silent: all < 16 MiB or none",
    "python_udf": "fire: BatchEvalPython/ArrowEvalPython node in a plan; silent: none",
    "nested_loop_join": "fire: BroadcastNestedLoopJoin or CartesianProduct node in a plan; silent: none",
    "driver_idle": "fire: a stretch >= 15 s with no running task after the first job; silent: longest < 5 s",
}

ALL_SILENT = {k: "silent" for k in KINDS}
SHORT_APP = ("low_core_utilization", "any",
             "short local-mode app (seconds): executor time / (cores x app duration) falls between the "
             "clear cases (start-up and driver work dominate); a rule may or may not call that low")
INPROGRESS_TINY = ("tiny_tasks", "any",
                   "a few hundred 1-20 ms tasks before the kill: between clearly tiny-task-bound and clearly not")


def exp(overrides=(), notes=()):
    return overrides, notes


# workload directory name -> list of (kind, value[, note]) that differ from all-silent
WORKLOAD_EXPECTATIONS = {
    # shared logs (../shared/eventlogs)
    "etl_mixed": [SHORT_APP, ("large_broadcast", "any",
                              "Spark 4 reports a 33.6 MB BroadcastExchange 'data size' for a 5,000-row dimension "
                              "(hashed relation): between small and large")],
    "etl_mixed_lz4": "etl_mixed", "etl_mixed_rolling": "etl_mixed",
    "join_skew": [SHORT_APP, ("data_skew", "fire")],
    "join_skew_snappy": "join_skew",
    "cache_pressure": [("low_core_utilization", "any", "short app, utilization ~0.5"),
                       ("gc_pressure", "any", "GC is ~9% of executor time overall and higher in the caching "
                                              "stage: near any GC threshold")],
    "python_udf": [SHORT_APP, ("python_udf", "fire")],
    "python_udf_plain": "python_udf",
    "many_small_tasks": [("tiny_tasks", "fire")],
    # Spark 3.5 reports a ~1 MB broadcast for the same etl_mixed dimension: clearly small
    "generated-spark35/etl_mixed": [SHORT_APP],

    # testdata/eventlogs (this project's logs)
    "codec_zstd_single": [SHORT_APP, ("large_broadcast", "any",
                                      "Spark 4 reports a ~33.5 MB BroadcastExchange 'data size' for a 100-row "
                                      "build side (hashed relation): between small and large")],
    "codec_lz4_single": "codec_zstd_single", "codec_snappy_single": "codec_zstd_single",
    "codec_lzf_single": "codec_zstd_single", "codec_zstd_rolling": "codec_zstd_single",
    "codec_lz4_rolling": "codec_zstd_single", "codec_snappy_rolling": "codec_zstd_single",
    "codec_lzf_rolling": "codec_zstd_single",
    "gzip_multimember": "codec_zstd_single", "attempt_suffixed_single": "codec_zstd_single",
    "attempt_suffixed_rolling": "codec_zstd_single", "malformed_lines": "codec_zstd_single",
    "spark35/codec_zstd_single": [SHORT_APP], "spark35/codec_lz4_single": "spark35/codec_zstd_single",
    "spark35/codec_snappy_single": "spark35/codec_zstd_single",
    "spark35/codec_lzf_single": "spark35/codec_zstd_single",
    "spark35/codec_zstd_rolling": "spark35/codec_zstd_single",
    "inprogress_zstd_single": [SHORT_APP, INPROGRESS_TINY],
    "inprogress_lz4_single": "inprogress_zstd_single", "inprogress_snappy_single": "inprogress_zstd_single",
    "inprogress_lzf_single": "inprogress_zstd_single", "inprogress_plain_single": "inprogress_zstd_single",
    "inprogress_zstd_rolling": "inprogress_zstd_single", "inprogress_lz4_rolling": "inprogress_zstd_single",
    "inprogress_snappy_rolling": "inprogress_zstd_single", "inprogress_lzf_rolling": "inprogress_zstd_single",
    "inprogress_plain_rolling": "inprogress_zstd_single",
    "truncated_zstd_inprogress": "inprogress_zstd_single", "truncated_lz4_inprogress": "inprogress_zstd_single",
    "rolling_3files_zstd": [("tiny_tasks", "fire")],
    "compacted_rolling_zstd": [
        ("tiny_tasks", "any", "compaction dropped the task events of the finished jobs: what is left depends "
                              "on which file was retained"),
        ("low_core_utilization", "any", "compaction removed most task events, so used core time is undercounted"),
        ("driver_idle", "any", "compaction removed the finished jobs' tasks: their time looks idle")],
    "task_failures": [SHORT_APP, ("task_failures", "fire")],
    "job_failure": [SHORT_APP, ("task_failures", "fire"), ("job_failure", "fire")],
    "spill": [SHORT_APP, ("spill", "fire")],
    "nested_loop_join": [SHORT_APP, ("nested_loop_join", "fire")],
    "small_files": [SHORT_APP, ("small_files", "fire"),
                    ("tiny_tasks", "any", "600 write tasks with a ~60 ms median: many small tasks, but under "
                                          "the 1,000-task mark"),
                    ("driver_idle", "any", "a ~5 s gap while the driver lists/commits 600 files")],
    "large_broadcast": [SHORT_APP, ("large_broadcast", "fire"),
                        ("driver_idle", "any", "~6.6 s with no task while the driver builds the 140 MB broadcast")],
    "speculative": [("low_core_utilization", "any",
                     "standalone-cluster start-up plus one 12 s straggler leave cores idle (utilization ~0.14 "
                     "over ~60 s); real, but not what the workload is about")],
    "killed_tasks": [SHORT_APP,
                     ("task_failures", "any", "tasks were killed by a job-group cancellation, none failed"),
                     ("job_failure", "any", "the job ended JobFailed because it was cancelled on purpose")],
    "driver_idle": [("driver_idle", "fire"), ("low_core_utilization", "fire")],
    "clean_small": [],
    "gc_pressure": [("gc_pressure", "fire"),
                    ("low_core_utilization", "any", "utilization ~0.66 (GC pauses count as task time): "
                                                    "between the clear cases")],
    "pii_planted": [SHORT_APP, ("task_failures", "fire"), ("job_failure", "fire"), ("python_udf", "fire")],
    "legacy_1x_plain": [("low_core_utilization", "any",
                         "a 2.5 s hand-built 1.x app without an ExecutorAdded event: no core count")],
    "legacy_1x_lzf": "legacy_1x_plain", "legacy_1x_inprogress": "legacy_1x_plain",
}


def resolve(name):
    v = WORKLOAD_EXPECTATIONS.get(name)
    while isinstance(v, str):
        v = WORKLOAD_EXPECTATIONS.get(v)
    return v


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def check(kind, value, ev):
    """None if the evidence agrees with value, else a message."""
    if value == "any":
        return None
    fire = value == "fire"
    sk = ev["worst_stage_skew"]
    if kind == "data_skew":
        hit = any(s["dur_ratio"] >= 5 and s["bytes_ratio"] >= 4 for s in sk)
        quiet = not any(s["dur_ratio"] >= 2.5 and s["bytes_ratio"] >= 2.5 for s in sk)
    elif kind == "spill":
        hit = ev["spill_memory_bytes"] + ev["spill_disk_bytes"] > 0
        quiet = not hit
    elif kind == "small_files":
        cand = [(ev["files_read"], ev["avg_file_read_bytes"]), (ev["files_written"], ev["avg_file_written_bytes"])]
        hit = any(n >= 200 and a is not None and a < (1 << 20) for n, a in cand)
        quiet = all(n < 50 or (a or 0) >= (1 << 20) for n, a in cand)
    elif kind == "task_failures":
        hit, quiet = ev["tasks_failed"] >= 1, ev["tasks_failed"] == 0
    elif kind == "job_failure":
        hit, quiet = ev["jobs_failed"] >= 1, ev["jobs_failed"] == 0
    elif kind == "tiny_tasks":
        m = ev["median_task_ms"]
        hit = ev["tasks_ok"] >= 1000 and m is not None and m <= 100
        quiet = ev["tasks_ok"] < 200 or (m is not None and m >= 500)
    elif kind == "low_core_utilization":
        u = ev["core_utilization"]
        hit = u is not None and u < 0.2 and (ev["app_duration_ms"] or 0) >= 60_000
        quiet = u is not None and u >= 0.6
    elif kind == "gc_pressure":
        g = ev["gc_share"] or 0
        hit, quiet = g >= 0.2, g < 0.1
    elif kind == "large_broadcast":
        b = max(ev["broadcast_bytes"] or [0])
        hit, quiet = b >= 100 << 20, b < 16 << 20
    elif kind == "python_udf":
        hit = bool(ev["python_udf_nodes"]) or ev["python_udf_in_plan_text"]
        quiet = not hit
    elif kind == "nested_loop_join":
        hit = bool(ev["nested_loop_nodes"])
        quiet = not hit
    elif kind == "driver_idle":
        hit, quiet = ev["max_idle_gap_ms"] >= 15_000, ev["max_idle_gap_ms"] < 5_000
    else:
        raise KeyError(kind)
    if fire and not hit:
        return f"{kind}: expected fire but evidence does not show it"
    if not fire and not quiet:
        return f"{kind}: expected silent but evidence is not clearly quiet"
    return None


def main():
    args = sys.argv[1:]
    out = None
    if "--write" in args:
        out = args[args.index("--write") + 1]
    ce = load("count_events", "count-events.py")
    ie = load("insight_evidence", "insight-evidence.py")
    logs = []
    for r in [p for p in ce.DEFAULT_SCAN if os.path.exists(p)]:
        logs += ce.discover(os.path.abspath(r))
    table, problems = {}, []
    for p in logs:
        key = os.path.relpath(p, ce.ROOT)
        parts = key.split("/")
        workload = parts[-2]  # <group>/<workload>/<file | eventlog_v2_dir | legacy app dir>
        spec = resolve(f"{parts[-3]}/{workload}")
        if spec is None:
            spec = resolve(workload)
        if spec is None:
            problems.append(f"{key}: no expectations for workload {workload}")
            continue
        cells = dict(ALL_SILENT)
        notes = {}
        for item in spec:
            cells[item[0]] = item[1]
            if len(item) > 2:
                notes[item[0]] = item[2]
        ev = ie.evidence(p)
        for k, v in cells.items():
            msg = check(k, v, ev)
            if msg:
                problems.append(f"{key}: {msg}")
        entry = {"workload": workload, **cells}
        if notes:
            entry["notes"] = notes
        entry["evidence"] = {k: ev[k] for k in ("app_duration_ms", "core_utilization", "tasks_ok", "median_task_ms",
                                                "tasks_failed", "tasks_killed", "jobs_failed", "spill_memory_bytes",
                                                "gc_share", "broadcast_bytes", "files_read", "files_written",
                                                "max_idle_gap_ms", "python_udf_nodes", "nested_loop_nodes")}
        entry["evidence"]["worst_stage_skew"] = ev["worst_stage_skew"][:1]
        table[key] = entry
    # Top-level keys are only log paths (relative to the workspace root, as in
    # testdata/expected-event-counts.json); the criteria are in testdata/eventlogs/README.md.
    doc = table
    for pr in problems:
        print("PROBLEM", pr, file=sys.stderr)
    if out:
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    print(f"{len(table)} logs, {len(problems)} problems", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
