"""Runs shs_client.py against Spark's own History Server and against sparkplane's, on the same
log directory, and fails if the outputs differ.

Usage: python compare_with_shs.py LOG_DIR SPARKPLANE_BASE_URL [--port 18581]
Needs: pyspark (its History Server), Java 17+. Prints both outputs' line counts.
"""
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import pyspark

here = os.path.dirname(os.path.abspath(__file__))


def run_client(base):
    return subprocess.run([sys.executable, os.path.join(here, "shs_client.py"), base],
                          check=True, capture_output=True, text=True, timeout=600).stdout


def main():
    args = sys.argv[1:]
    port = 18581
    if "--port" in args:
        i = args.index("--port")
        port = int(args[i + 1])
        del args[i:i + 2]
    logdir, ours = os.path.abspath(args[0]), args[1]
    expected = len([n for n in os.listdir(logdir) if not n.startswith(".")])
    spark_home = os.path.dirname(pyspark.__file__)
    env = dict(os.environ, SPARK_HOME=spark_home, SPARK_NO_DAEMONIZE="1", SPARK_LOCAL_IP="127.0.0.1")
    env["SPARK_HISTORY_OPTS"] = " ".join([
        f"-Dspark.history.fs.logDirectory=file://{logdir}",
        f"-Dspark.history.ui.port={port}",
        "-Dspark.history.fs.update.interval=1s",
        "-Dspark.ui.bindAddress=127.0.0.1",
        "-Dspark.history.fs.cleaner.enabled=false",
    ])
    log = tempfile.NamedTemporaryFile(prefix="shs-client-", suffix=".log", delete=False)
    proc = subprocess.Popen([os.path.join(spark_home, "bin", "spark-class"),
                             "org.apache.spark.deploy.history.HistoryServer"],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        t0 = time.time()
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"History Server exited; see {log.name}")
            try:
                with urllib.request.urlopen(base + "/applications", timeout=10) as r:
                    import json
                    if len(json.load(r)) >= expected:
                        break
            except Exception:
                pass
            if time.time() - t0 > 300:
                raise SystemExit("History Server did not list every application in 300 s")
            time.sleep(0.5)
        theirs = run_client(base)
        mine = run_client(ours)
        print(f"SHS: {len(theirs.splitlines())} lines; sparkplane: {len(mine.splitlines())} lines")
        if theirs != mine:
            import difflib
            sys.stdout.writelines(difflib.unified_diff(
                theirs.splitlines(True), mine.splitlines(True), "spark-history-server", "sparkplane"))
            raise SystemExit("outputs differ")
        print("identical")
        # Raw JSON of the detail endpoints no snapshot covers: equal, field for field.
        import json
        def get(url):
            with urllib.request.urlopen(url, timeout=120) as r:
                return json.load(r)
        checked, differ = 0, []
        for app in get(base + "/applications"):
            p = "/applications/" + app["id"]
            paths = [p + f"/jobs/{j['jobId']}" for j in get(base + p + "/jobs")]
            for st in get(base + p + "/stages"):
                paths.append(p + f"/stages/{st['stageId']}")
                paths.append(p + f"/stages/{st['stageId']}/{st['attemptId']}")
            for path in paths:
                checked += 1
                a, b = get(base + path), get(ours + path)
                if a != b:
                    differ.append(path)
        print(f"detail endpoints: {checked - len(differ)}/{checked} equal")
        if differ:
            raise SystemExit("differ: " + ", ".join(differ[:10]))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
