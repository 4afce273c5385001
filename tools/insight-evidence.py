"""Measure, independently of sparkplane, the evidence for each insight kind in event logs.

Usage:  python tools/insight-evidence.py [PATH ...]     (default: every log count-events finds)
        python tools/insight-evidence.py --json OUT.json

Reads logs with tools/count-events.py's Python decoders (not the Rust reader) and prints, per
log, the numbers behind the 12 insight kinds: per-stage max/median task duration and input /
shuffle-read ratio, spill bytes, failed/killed tasks, failed jobs, task count and median
duration, core utilization, GC share, broadcast sizes, plan node names (Python UDFs, nested
loop joins), idle gaps with no running task, files read/written and their average size.
testdata/insight-expectations.json was decided from these numbers (see its "criteria").
"""
import importlib.util, json, os, re, statistics, sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("count_events", os.path.join(HERE, "count-events.py"))
ce = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ce)


def events(path):
    layout, files, in_progress, hint = ce.describe(path)
    for i, fp in enumerate(files):
        c = ce.file_codec(fp, hint)
        with open(fp, "rb") as f:
            buf = b""
            try:
                for chunk in ce.DECODERS[c](f):
                    buf += chunk
                    lines = buf.split(b"\n")
                    buf = lines.pop()
                    for ln in lines:
                        try:
                            obj = json.loads(ln)
                        except ValueError:
                            continue
                        if isinstance(obj, dict):
                            yield obj
            except ce.Truncated:
                pass
            if buf:
                try:
                    obj = json.loads(buf)
                except ValueError:
                    obj = None
                if isinstance(obj, dict):
                    yield obj


def walk_plan(node, out):
    out.append(node)
    for ch in node.get("children", []):
        walk_plan(ch, out)


def evidence(path):
    tasks = {}  # (stage, attempt) -> list of (dur, input, shuffle_read)
    spill_mem = spill_disk = 0
    failed_tasks = killed_tasks = 0
    fail_reasons = {}
    jobs_failed = jobs_total = 0
    run_time = gc_time = 0
    intervals = []
    cores = 0
    app_start = app_end = None
    last_ts = 0
    node_names = set()
    metric_names = {}  # accumulator id -> (node name, metric name)
    metric_values = {}
    plans = []
    speculative = 0
    first_job = None
    for e in events(path):
        ev = e.get("Event")
        if ev == "SparkListenerApplicationStart":
            app_start = e.get("Timestamp")
        elif ev == "SparkListenerApplicationEnd":
            app_end = e.get("Timestamp")
        elif ev == "SparkListenerExecutorAdded":
            cores += e.get("Executor Info", {}).get("Total Cores", 0)
        elif ev == "SparkListenerJobStart":
            jobs_total += 1
            if first_job is None:
                first_job = e.get("Submission Time")
        elif ev == "SparkListenerJobEnd":
            if e.get("Job Result", {}).get("Result") != "JobSucceeded":
                jobs_failed += 1
        elif ev == "SparkListenerTaskEnd":
            ti = e.get("Task Info", {})
            tm = e.get("Task Metrics") or {}
            reason = e.get("Task End Reason", {}).get("Reason")
            launch, finish = ti.get("Launch Time", 0), ti.get("Finish Time", 0)
            if launch and finish:
                intervals.append((launch, finish))
                last_ts = max(last_ts, finish)
            if ti.get("Speculative"):
                speculative += 1
            if reason == "TaskKilled":
                killed_tasks += 1
            elif reason != "Success":
                failed_tasks += 1
                fail_reasons[reason] = fail_reasons.get(reason, 0) + 1
            spill_mem += tm.get("Memory Bytes Spilled", 0)
            spill_disk += tm.get("Disk Bytes Spilled", 0)
            run_time += tm.get("Executor Run Time", 0)
            gc_time += tm.get("JVM GC Time", 0)
            if reason == "Success":
                inp = (tm.get("Input Metrics") or {}).get("Bytes Read", 0)
                sr = tm.get("Shuffle Read Metrics") or {}
                srb = sr.get("Remote Bytes Read", 0) + sr.get("Local Bytes Read", 0)
                tasks.setdefault((e["Stage ID"], e.get("Stage Attempt ID", 0)), []).append(
                    (finish - launch, inp, srb))
        elif ev and ev.endswith(("SparkListenerSQLExecutionStart", "SparkListenerSQLAdaptiveExecutionUpdate")):
            info = e.get("sparkPlanInfo") or {}
            nodes = []
            walk_plan(info, nodes)
            for n in nodes:
                node_names.add(n.get("nodeName", ""))
                for m in n.get("metrics", []):
                    metric_names[m["accumulatorId"]] = (n.get("nodeName", ""), m["name"])
            plans.append(e.get("physicalPlanDescription", ""))
        elif ev and ev.endswith("SparkListenerDriverAccumUpdates"):
            for aid, v in e.get("accumUpdates", []):
                metric_values[aid] = metric_values.get(aid, 0) + v
        elif ev == "SparkListenerStageCompleted":
            for acc in e.get("Stage Info", {}).get("Accumulables", []):
                aid = acc.get("ID")
                if aid in metric_names and isinstance(acc.get("Value"), (int, str)):
                    try:
                        metric_values[aid] = int(acc["Value"])
                    except ValueError:
                        pass
    # stage skew
    skew = []
    for (sid, att), ts in tasks.items():
        if len(ts) < 3:
            continue
        durs = sorted(t[0] for t in ts)
        med = statistics.median(durs)
        mx = max(ts, key=lambda t: t[0])
        in_med = statistics.median(t[1] + t[2] for t in ts)
        skew.append({"stage": sid, "attempt": att, "tasks": len(ts), "max_ms": durs[-1], "median_ms": med,
                     "dur_ratio": round(durs[-1] / max(med, 1), 1),
                     "slowest_bytes": mx[1] + mx[2], "median_bytes": in_med,
                     "bytes_ratio": round((mx[1] + mx[2]) / max(in_med, 1), 1)})
    skew.sort(key=lambda s: -s["dur_ratio"])
    all_durs = sorted(d for ts in tasks.values() for d, _, _ in ts)
    # idle gaps: from first job submission to the end, periods with no task running
    intervals.sort()
    gaps = []
    end = app_end or last_ts
    cur = first_job or (intervals[0][0] if intervals else 0)
    for s, f in intervals:
        if s > cur:
            gaps.append(s - cur)
        cur = max(cur, f)
    if end and end > cur:
        gaps.append(end - cur)
    dur = (end - app_start) if (end and app_start) else None
    util = run_time / (cores * dur) if (cores and dur) else None
    # SQL metrics
    by_name = {}
    for aid, (node, mname) in metric_names.items():
        if aid in metric_values:
            by_name.setdefault((node, mname), []).append(metric_values[aid])
    bcast = [v for (node, m), vs in by_name.items() if node.startswith("BroadcastExchange") and m == "data size" for v in vs]
    files_read = sum(v for (node, m), vs in by_name.items() if m == "number of files read" for v in vs)
    size_read = sum(v for (node, m), vs in by_name.items() if m == "size of files read" for v in vs)
    files_written = sum(v for (node, m), vs in by_name.items() if m == "number of written files" for v in vs)
    bytes_written = sum(v for (node, m), vs in by_name.items() if m == "written output" for v in vs)
    plan_text = "\n".join(plans)
    return {
        "app_duration_ms": dur, "cores": cores, "jobs": jobs_total, "jobs_failed": jobs_failed,
        "tasks_ok": len(all_durs), "tasks_failed": failed_tasks, "tasks_killed": killed_tasks,
        "fail_reasons": fail_reasons, "speculative_tasks": speculative,
        "median_task_ms": statistics.median(all_durs) if all_durs else None,
        "core_utilization": round(util, 3) if util is not None else None,
        "gc_share": round(gc_time / run_time, 3) if run_time else None,
        "run_time_ms": run_time, "gc_time_ms": gc_time,
        "spill_memory_bytes": spill_mem, "spill_disk_bytes": spill_disk,
        "worst_stage_skew": skew[:2],
        "max_idle_gap_ms": max(gaps) if gaps else 0,
        "idle_share": round(sum(gaps) / dur, 3) if dur else None,
        "broadcast_bytes": sorted(bcast, reverse=True)[:3],
        "files_read": files_read, "avg_file_read_bytes": (size_read // files_read) if files_read else None,
        "files_written": files_written,
        "avg_file_written_bytes": (bytes_written // files_written) if files_written else None,
        "python_udf_nodes": sorted(n for n in node_names if re.search(r"EvalPython|PythonUDF|FlatMapGroupsInPandas|MapInPandas", n)),
        "python_udf_in_plan_text": bool(re.search(r"BatchEvalPython|ArrowEvalPython", plan_text)),
        "nested_loop_nodes": sorted(n for n in node_names if n in ("BroadcastNestedLoopJoin", "CartesianProduct")),
    }


def main():
    args = sys.argv[1:]
    out = None
    if "--json" in args:
        i = args.index("--json")
        out = args[i + 1]
        del args[i:i + 2]
    roots = args or [p for p in ce.DEFAULT_SCAN if os.path.exists(p)]
    logs = []
    for r in roots:
        logs += ce.discover(os.path.abspath(r))
    res = {}
    for p in logs:
        key = os.path.relpath(p, ce.ROOT)
        res[key] = evidence(p)
        print(key, json.dumps(res[key]), flush=True)
    if out:
        with open(out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
