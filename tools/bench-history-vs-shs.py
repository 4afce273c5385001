"""Benchmark `sparkplane history` against Spark's own History Server on a directory of 200 logs.

Usage: .venv/bin/python tools/bench-history-vs-shs.py BINARY [--copies 200]
                                                       [--keep DIR] [--out results.json]
Builds DIR (default a temp dir) with COPIES-1 synthetic copies of the uncompressed shared logs
(Spark 4.3 python_udf_plain and etl_mixed_rolling, Spark 3.5 etl_mixed/join_skew/python_udf),
each with its application id rewritten (local-17000000NNNNN), plus the original many_small_tasks
log (30,000 tasks, zstd rolling: the largest application). Then, for each server in turn (never
both at once, on a 2-core machine):
  * time from process start to a complete `/api/v1/applications` listing (all COPIES apps),
  * time from then to the `/api/v1/applications/<largest>/stages` answer,
  * peak resident memory of the server process (VmHWM).
BINARY is target/release/sparkplane or target/release/examples/serve
(`cargo build --release -p sparkplane-history --example serve`); it is run as
`BINARY history --log-dir DIR --listen ADDR`. Needs pyspark (its History Server) and Java 17+.
"""
import json, os, re, shutil, subprocess, sys, tempfile, time, urllib.request

import pyspark

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared", "eventlogs")
TEMPLATES = [
    ("generated/python_udf_plain/local-1795549164214", "local-1795549164214"),
    ("generated/etl_mixed_rolling/eventlog_v2_local-1795549175760", "local-1795549175760"),
    ("generated-spark35/etl_mixed/local-1795552107859", "local-1795552107859"),
    ("generated-spark35/join_skew/local-1795552119225", "local-1795552119225"),
    ("generated-spark35/python_udf/local-1795552129176", "local-1795552129176"),
]
LARGEST = ("generated/many_small_tasks/eventlog_v2_local-1795548412010", "local-1795548412010")


def build(dirpath, copies):
    os.makedirs(dirpath, exist_ok=True)
    src, _ = LARGEST
    shutil.copytree(os.path.join(SHARED, src), os.path.join(dirpath, os.path.basename(src)),
                    dirs_exist_ok=True)
    for n in range(copies - 1):
        rel, old = TEMPLATES[n % len(TEMPLATES)]
        new = f"local-17000000{n:05d}"
        src = os.path.join(SHARED, rel)
        if os.path.isdir(src):
            dst = os.path.join(dirpath, os.path.basename(src).replace(old, new))
            os.makedirs(dst, exist_ok=True)
            for f in os.listdir(src):
                data = open(os.path.join(src, f), "rb").read().replace(old.encode(), new.encode())
                open(os.path.join(dst, f.replace(old, new)), "wb").write(data)
        else:
            data = open(src, "rb").read().replace(old.encode(), new.encode())
            open(os.path.join(dirpath, new), "wb").write(data)


def get(url, timeout=600):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def vmhwm_kib(pid):
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure(name, cmd, env, base, copies, largest):
    log = tempfile.NamedTemporaryFile(prefix=f"bench-{name}-", suffix=".log", delete=False)
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    peak = 0
    try:
        while True:
            peak = max(peak, vmhwm_kib(proc.pid))
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited; see {log.name}")
            try:
                apps = get(base + "/applications", timeout=30)
                if len(apps) >= copies:
                    break
            except Exception:
                pass
            if time.time() - t0 > 1800:
                raise SystemExit(f"{name}: listing incomplete after 30 min")
            time.sleep(0.05)
        t_list = time.time() - t0
        t1 = time.time()
        stages = get(f"{base}/applications/{largest}/stages")
        t_stages = time.time() - t1
        peak = max(peak, vmhwm_kib(proc.pid))
        return {"server": name, "apps": len(apps), "to_listing_s": round(t_list, 3),
                "largest_stages_s": round(t_stages, 3), "stages": len(stages),
                "peak_rss_mib": round(peak / 1024, 1)}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    args = sys.argv[1:]
    opt = lambda k, d: (args[args.index(k) + 1] if k in args else d)
    binary, copies = os.path.abspath(args[0]), int(opt("--copies", "200"))
    keep, out = opt("--keep", None), opt("--out", None)
    d = keep or tempfile.mkdtemp(prefix="bench-history-")
    if not os.path.isdir(d) or not os.listdir(d):
        build(d, copies)
    largest = LARGEST[1]
    results = []
    port = 18681
    results.append(measure("sparkplane", [binary, "history", "--log-dir", d, "--listen",
                                          f"127.0.0.1:{port}"], dict(os.environ),
                           f"http://127.0.0.1:{port}/api/v1", copies, largest))
    spark_home = os.path.dirname(pyspark.__file__)
    env = dict(os.environ, SPARK_HOME=spark_home, SPARK_NO_DAEMONIZE="1", SPARK_LOCAL_IP="127.0.0.1")
    env["SPARK_HISTORY_OPTS"] = " ".join([
        f"-Dspark.history.fs.logDirectory=file://{d}", f"-Dspark.history.ui.port={port + 1}",
        "-Dspark.history.fs.update.interval=1s", "-Dspark.history.retainedApplications=1000",
        "-Dspark.ui.bindAddress=127.0.0.1", "-Dspark.history.fs.cleaner.enabled=false"])
    results.append(measure("spark-history-server", [os.path.join(spark_home, "bin", "spark-class"),
                                                    "org.apache.spark.deploy.history.HistoryServer"],
                           env, f"http://127.0.0.1:{port + 1}/api/v1", copies, largest))
    sp, shs = results
    summary = {"copies": copies, "results": results,
               "listing_speedup": round(shs["to_listing_s"] / max(sp["to_listing_s"], 1e-3), 1),
               "stages_speedup": round(shs["largest_stages_s"] / max(sp["largest_stages_s"], 1e-3), 1),
               "memory_ratio": round(sp["peak_rss_mib"] / max(shs["peak_rss_mib"], 1e-3), 3),
               "history_server": pyspark.__version__}
    print(json.dumps(summary, indent=1))
    if out:
        json.dump(summary, open(out, "w"), indent=1)
    if not keep:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
