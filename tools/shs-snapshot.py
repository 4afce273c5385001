"""Ask Apache Spark's own History Server what it makes of event logs, and save its REST answers.

Usage:  python tools/shs-snapshot.py LOG_OR_DIR [LOG_OR_DIR ...] OUTDIR [--port 18080]
                                       [--max-tasks-for-tasklist 100] [--max-bytes-for-extras 30000]
Needs:  pip install pyspark (its History Server is started from the package), Java 17+.
        The Spark version of the History Server is that of the Python running this script.

Extended copy of ../shared/tools/shs-snapshot.py. Each argument but the last is an event log
(a single file or an eventlog_v2_* directory) or a directory whose top-level entries are event
logs (Spark's spark.eventLog.dir layout). The logs are copied into a temporary log directory
(the History Server does not recurse), the server is started on it, and for each application
attempt it writes OUTDIR/<app id>[_<attempt id>]/:
  (compact JSON; environment.json without the classpath)
  app.json, jobs.json, stages.json (?details=false), stages_with_summaries.json
  (?withSummaries=true), executors.json, allexecutors.json, environment.json,
  sql.json (?details=true), version.json,
  sql_paged.json (?details=false&planDescription=false&offset=1&length=2),
  stages_filtered.json (?status=complete&status=failed&withSummaries=true&quantiles=0.1,0.9),
  stages_details.json (?details=true&taskStatus=SUCCESS&taskStatus=FAILED) — these two only when
  their compact JSON is at most --max-bytes-for-extras (30000) bytes, to keep committed data small
  (snapshot-info.json's extras_saved says which were saved),
  jobs/<job id>.json, sql/<execution id>.json (?details=true) — fetched for every job / execution
  and compared with its entry in jobs.json / sql.json; written only when different (the counts
  of equal ones are in snapshot-info.json),
  stages/<stage id>_<attempt>/taskSummary.json (?quantiles=0.0,0.25,0.5,0.75,1.0)
  stages/<stage id>_<attempt>/taskList.json (?length=100000; only for applications with at most
  --max-tasks-for-tasklist tasks in total, to keep committed data small)
and OUTDIR/timing.json with how long the server took to list every application.
"""
import json, os, shutil, subprocess, sys, tempfile, time, urllib.error, urllib.request

import pyspark

QUANTILES = "0.0,0.25,0.5,0.75,1.0"
# The query strings of the extra list endpoints (the golden test asks the same).
SQL_PAGED = "details=false&planDescription=false&offset=1&length=2"
STAGES_FILTERED = "status=complete&status=failed&withSummaries=true&quantiles=0.1,0.9"
STAGES_DETAILS = "details=true&taskStatus=SUCCESS&taskStatus=FAILED"


def get(url):
    with urllib.request.urlopen(url, timeout=120) as r:
        return json.load(r)


def save(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")


def slim_environment(env):
    """The classpath (~300 jar paths, twice) is most of /environment and says nothing about a run:
    classpathEntries become [] and java.class.path's value is dropped; everything else is kept."""
    if isinstance(env, dict):
        n = len(env.get("classpathEntries") or [])
        env["classpathEntries"] = []
        props = env.get("systemProperties") or []
        env["systemProperties"] = [p for p in props if not (isinstance(p, list) and p and p[0] == "java.class.path")]
        hp = env.get("hadoopProperties") or []
        env["hadoopProperties"] = [p for p in hp if isinstance(p, list) and p and str(p[0]).startswith("fs.s3a.")]
        env["_snapshot_note"] = (f"classpathEntries ({n}), java.class.path and hadoopProperties other than "
                                 f"fs.s3a.* ({len(hp) - len(env['hadoopProperties'])}) omitted by tools/shs-snapshot.py")
    return env


def fetch(url):
    try:
        return get(url)
    except urllib.error.HTTPError as e:  # e.g. an app with no SQL
        return {"error": f"HTTP {e.code}", "url_path": url.split("/api/v1", 1)[1]}
    except Exception as e:
        return {"error": str(e)}


def is_log(path):
    b = os.path.basename(path)
    return os.path.isfile(path) or b.startswith("eventlog_v2_")


def collect_logs(args):
    logs = []
    for a in args:
        a = os.path.abspath(a)
        if is_log(a):
            logs.append(a)
        else:
            for n in sorted(os.listdir(a)):
                if not n.startswith(".") and not n.endswith(".crc"):
                    logs.append(os.path.join(a, n))
    return logs


def snapshot_app(base, a, outdir, max_tasks, max_extra):
    attempts = a.get("attempts") or [{}]
    for att in attempts:
        aid = att.get("attemptId")
        root = f"{base}/applications/{a['id']}" + (f"/{aid}" if aid else "")
        d = os.path.join(outdir, a["id"] + (f"_{aid}" if aid else ""))
        shutil.rmtree(d, ignore_errors=True)
        for name, path in [("app", ""), ("jobs", "/jobs"), ("stages", "/stages?details=false"),
                           ("stages_with_summaries", "/stages?withSummaries=true"),
                           ("executors", "/executors"), ("allexecutors", "/allexecutors"),
                           ("environment", "/environment"), ("sql", "/sql?details=true"),
                           ("sql_paged", f"/sql?{SQL_PAGED}")]:
            u = (f"{base}/applications/{a['id']}" if name == "app" else root) + path
            data = fetch(u)
            save(os.path.join(d, name + ".json"), slim_environment(data) if name == "environment" else data)
        save(os.path.join(d, "version.json"), fetch(f"{base}/version"))
        # jobs/{id} and sql/{id}?details=true are fetched and checked equal to their entries in
        # jobs.json / sql.json; stored only when they differ (keeps the committed data small).
        same = {"jobs": 0, "sql": 0}
        jobs = fetch(root + "/jobs")
        for j in jobs if isinstance(jobs, list) else []:
            one = fetch(f"{root}/jobs/{j['jobId']}")
            if one == j:
                same["jobs"] += 1
            else:
                save(os.path.join(d, "jobs", f"{j['jobId']}.json"), one)
        sql = fetch(root + "/sql?details=true")
        for s in sql if isinstance(sql, list) else []:
            one = fetch(f"{root}/sql/{s['id']}?details=true")
            if one == s:
                same["sql"] += 1
            else:
                save(os.path.join(d, "sql", f"{s['id']}.json"), one)
        stages = fetch(root + "/stages?details=false")
        stages = stages if isinstance(stages, list) else []
        total_tasks = sum(s.get("numTasks", 0) for s in stages)
        with_list = total_tasks <= max_tasks
        # Every task of every stage / distributions of every stage: saved only when small.
        extras = {}
        for name, q in [("stages_details", STAGES_DETAILS), ("stages_filtered", STAGES_FILTERED)]:
            data = fetch(f"{root}/stages?{q}")
            size = len(json.dumps(data, separators=(",", ":")))
            extras[name] = size <= max_extra
            if extras[name]:
                save(os.path.join(d, name + ".json"), data)
        for s in stages:
            sd = os.path.join(d, "stages", f"{s['stageId']}_{s['attemptId']}")
            sroot = f"{root}/stages/{s['stageId']}/{s['attemptId']}"
            save(os.path.join(sd, "taskSummary.json"), fetch(f"{sroot}/taskSummary?quantiles={QUANTILES}"))
            if with_list:
                save(os.path.join(sd, "taskList.json"), fetch(f"{sroot}/taskList?length=100000"))
        save(os.path.join(d, "snapshot-info.json"), {
            "history_server_spark_version": pyspark.__version__, "quantiles": QUANTILES,
            "total_tasks": total_tasks, "task_lists_saved": with_list, "max_tasks_for_tasklist": max_tasks,
            "jobs_by_id_equal_to_list_entries": same["jobs"], "sql_by_id_equal_to_list_entries": same["sql"],
            "max_bytes_for_extras": max_extra, "extras_saved": extras})


def main():
    args = sys.argv[1:]
    port, max_tasks, max_extra = 18080, 100, 30000
    if "--max-bytes-for-extras" in args:
        i = args.index("--max-bytes-for-extras")
        max_extra = int(args[i + 1])
        del args[i:i + 2]
    if "--port" in args:
        i = args.index("--port")
        port = int(args[i + 1])
        del args[i:i + 2]
    if "--max-tasks-for-tasklist" in args:
        i = args.index("--max-tasks-for-tasklist")
        max_tasks = int(args[i + 1])
        del args[i:i + 2]
    outdir = os.path.abspath(args[-1])
    logs = collect_logs(args[:-1])
    logdir = tempfile.mkdtemp(prefix="shs-logs-")
    for p in logs:
        dst = os.path.join(logdir, os.path.basename(p))
        if os.path.isdir(p):
            shutil.copytree(p, dst)
        else:
            shutil.copy2(p, dst)
    expected = len(logs)
    spark_home = os.path.dirname(pyspark.__file__)
    env = dict(os.environ, SPARK_HOME=spark_home, SPARK_NO_DAEMONIZE="1")
    env["SPARK_HISTORY_OPTS"] = " ".join([
        f"-Dspark.history.fs.logDirectory=file://{logdir}",
        f"-Dspark.history.ui.port={port}",
        "-Dspark.history.fs.update.interval=1s",
        "-Dspark.history.retainedApplications=1000",
        "-Dspark.ui.bindAddress=127.0.0.1",
        "-Dspark.history.fs.cleaner.enabled=false",
    ])
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    log = tempfile.NamedTemporaryFile(prefix="shs-", suffix=".log", delete=False)
    proc = subprocess.Popen([os.path.join(spark_home, "bin", "spark-class"),
                             "org.apache.spark.deploy.history.HistoryServer"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    t0 = time.time()
    try:
        apps = []
        last_n, last_change = -1, time.time()
        while time.time() - t0 < 600:
            try:
                apps = get(base + "/applications")
                n = sum(len(a.get("attempts") or [1]) for a in apps)
                if n >= expected:
                    break
                if n != last_n:
                    last_n, last_change = n, time.time()
                elif time.time() - last_change > 45:  # some log the server cannot list
                    print(f"only {n}/{expected} listed after waiting; continuing", file=sys.stderr)
                    break
            except Exception:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"History Server exited; see {log.name}")
            time.sleep(0.5)
        listed = time.time() - t0
        os.makedirs(outdir, exist_ok=True)
        t1 = time.time()
        for a in apps:
            snapshot_app(base, a, outdir, max_tasks, max_extra)
        detail = time.time() - t1
        timing = os.path.join(outdir, "timing.json")
        old = {}
        if os.path.exists(timing):
            with open(timing) as f:
                old = json.load(f)
        runs = old.get("runs", []) if isinstance(old.get("runs"), list) else []
        runs.append({"apps": len(apps), "expected": expected, "list_seconds": round(listed, 2),
                     "detail_seconds": round(detail, 2), "history_server": pyspark.__version__,
                     "app_ids": sorted(a["id"] for a in apps)})
        save(timing, {"runs": runs})
        print(f"{len(apps)}/{expected} applications; listed in {listed:.1f}s; details in {detail:.1f}s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    main()
