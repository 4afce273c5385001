"""Write real Apache Spark event logs by running small workloads in local mode.

Usage:  python tools/gen-eventlogs.py OUTDIR [WORKLOAD ...]
        python tools/gen-eventlogs.py --list
Needs:  pip install pyspark (Spark 4 needs Java 17+ on PATH or JAVA_HOME).

Extended copy of ../shared/tools/gen-eventlogs.py (the original workloads are kept unchanged).
Each workload runs in its own JVM and writes its event log under OUTDIR/<workload>/, with
Spark's defaults (Spark 4: rolling eventlog_v2_* directory, zstd; Spark 3.5: single plain file)
unless the workload overrides the event-log settings. Workloads marked `kill` are SIGKILLed
(the driver JVM) mid-run so their log stays in progress. Which Spark runs a workload is decided
by the Python that runs this script (the project's .venv = Spark 4.3, .venv-spark35 = 3.5.8).
The file names Spark writes contain the application id; nothing is renamed here (derived
fixtures — gzip, attempt-suffixed, compacted, legacy 1.x — are made by tools/derive-fixtures.py).
"""
import os, shutil, signal, subprocess, sys, threading, time

SCRIPT = os.path.abspath(__file__)


def session(name, outdir, extra, master="local[2]", app_name=None):
    from pyspark.sql import SparkSession
    d = os.path.join(outdir, name)
    os.makedirs(d, exist_ok=True)
    b = (SparkSession.builder.appName(app_name or name).master(master)
         .config("spark.eventLog.enabled", "true")
         .config("spark.eventLog.dir", "file://" + os.path.abspath(d))
         .config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "8")
         .config("spark.pyspark.python", sys.executable))  # workers use this venv (pyarrow etc.)
    for k, v in extra.items():
        b = b.config(k, v)
    return b.getOrCreate()


def F():
    from pyspark.sql import functions
    return functions


# ---------------------------------------------------------------------------------------------
# Original workloads (../shared/tools/gen-eventlogs.py)

def etl_mixed(spark, tmp):
    """Several SQL queries: joins, aggregations, a window, a write and a read back."""
    from pyspark.sql import Window
    f = F()
    orders = spark.range(0, 500_000).select(
        f.col("id").alias("order_id"), (f.col("id") % 5000).alias("customer_id"),
        (f.rand(7) * 100).alias("amount"))
    customers = spark.range(0, 5000).select(
        f.col("id").alias("customer_id"), (f.col("id") % 20).alias("region"))
    orders.write.mode("overwrite").parquet(tmp + "/orders")
    o = spark.read.parquet(tmp + "/orders")
    joined = o.join(customers, "customer_id")
    joined.groupBy("region").agg(f.sum("amount"), f.count("*")).collect()
    w = Window.partitionBy("region").orderBy(f.desc("amount"))
    joined.withColumn("rk", f.row_number().over(w)).filter("rk <= 3").collect()
    o.createOrReplaceTempView("orders")
    spark.sql("SELECT customer_id, avg(amount) a FROM orders GROUP BY customer_id ORDER BY a DESC LIMIT 10").collect()


def join_skew(spark, tmp):
    """A sort-merge join where 70% of the fact rows share one key (AQE off)."""
    f = F()
    spark.conf.set("spark.sql.adaptive.enabled", "false")
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    fact = spark.range(0, 2_000_000).withColumn(
        "k", f.when(f.col("id") % 10 < 7, f.lit(42)).otherwise(f.col("id") % 10_000))
    dim = spark.range(0, 10_000).withColumnRenamed("id", "k").withColumn("v", f.col("k") * 3)
    fact.join(dim, "k").groupBy((f.col("k") % 7).alias("g")).agg(f.sum("v")).collect()


def cache_pressure(spark, tmp):
    """Caches more than fits in a small heap, then reuses it."""
    f = F()
    df = spark.range(0, 3_000_000).withColumn("s", f.sha2(f.col("id").cast("string"), 512))
    df = df.persist()
    df.count()
    df.groupBy(f.substring("s", 1, 2)).count().collect()
    df.unpersist()


def python_udf(spark, tmp):
    """A row-at-a-time Python UDF over a million rows."""
    f = F()
    slow = f.udf(lambda x: (x * 31) % 1000, "long")
    spark.range(0, 1_000_000).select(slow("id").alias("y")).groupBy("y").count().collect()


def many_small_tasks(spark, tmp):
    """An RDD job with far more partitions than the data needs; a large event log."""
    sc = spark.sparkContext
    for _ in range(3):
        sc.parallelize(range(30_000), 10_000).map(lambda x: x + 1).sum()


# ---------------------------------------------------------------------------------------------
# Small workloads for codec / layout coverage

def codec_small(spark, tmp):
    """Small and quick: a shuffle aggregation, a join and a parquet write + read (3-6 jobs)."""
    f = F()
    df = spark.range(0, 20_000).select((f.col("id") % 100).alias("k"), f.col("id").alias("v"))
    df.groupBy("k").agg(f.sum("v")).collect()
    df.write.mode("overwrite").parquet(tmp + "/t")
    spark.read.parquet(tmp + "/t").join(df.limit(100), "k").count()


def rolling_many(spark, tmp):
    """Many tiny RDD tasks: ~25 MB of uncompressed events, enough for 3 files at maxFileSize=10m."""
    sc = spark.sparkContext
    for _ in range(3):
        sc.parallelize(range(3_000), 3_000).map(lambda x: x + 1).sum()


def until_killed(spark, tmp):
    """Runs jobs of 16 small tasks forever; the generator SIGKILLs the driver JVM mid-run."""
    sc = spark.sparkContext
    i = 0
    while True:
        sc.parallelize(range(1_600), 16).map(lambda x: x * 2).sum()
        i += 1
        print(f"job {i} done", flush=True)


# ---------------------------------------------------------------------------------------------
# Workloads for insight kinds (issue 5)

def task_failures(spark, tmp):
    """Tasks of one stage fail on their first two attempts (a user function raises) and succeed
    on the third; master local[2,4] allows 4 attempts per task. Every job succeeds."""
    from pyspark import TaskContext

    def flaky(it):
        tc = TaskContext.get()
        if tc.partitionId() % 3 == 0 and tc.attemptNumber() < 2:
            raise RuntimeError(f"injected failure p{tc.partitionId()} a{tc.attemptNumber()}")
        return (x * 2 for x in it)
    sc = spark.sparkContext
    sc.parallelize(range(20_000), 12).mapPartitions(flaky).sum()
    sc.parallelize(range(20_000), 8).map(lambda x: x + 1).sum()


def job_failure(spark, tmp):
    """A job whose tasks always fail (4 attempts, then the job fails for good), caught by the
    driver, followed by a job that succeeds. The application itself ends normally."""
    from pyspark import TaskContext

    def broken(it):
        if TaskContext.get().partitionId() == 1:
            raise ValueError("input record is corrupt (deterministic failure)")
        return it
    sc = spark.sparkContext
    try:
        sc.parallelize(range(1_000), 4).mapPartitions(broken).count()
    except Exception as e:
        print("job failed as intended:", str(e).splitlines()[0][:100], flush=True)
    sc.parallelize(range(1_000), 4).count()


def spill(spark, tmp):
    """A sort and an aggregation of 2M rows forced to spill (numElementsForceSpillThreshold; the
    sort-based shuffle writer is forced with bypassMergeThreshold=1)."""
    f = F()
    df = spark.range(0, 2_000_000).select((f.rand(3) * 1e9).cast("long").alias("x"),
                                          f.sha2(f.col("id").cast("string"), 256).alias("s"))
    # the noop sink keeps the global sort (a sort under an aggregate would be optimized away)
    df.orderBy("x").write.format("noop").mode("overwrite").save()
    df.groupBy((f.col("x") % 100_000).alias("k")).agg(f.max("s")).write.format("noop").mode("overwrite").save()


def nested_loop_join(spark, tmp):
    """A non-equi join (BroadcastNestedLoopJoin) and a cross join of two non-broadcastable
    tables (CartesianProduct)."""
    f = F()
    a = spark.range(0, 3_000).withColumnRenamed("id", "a")
    b = spark.range(0, 500).withColumnRenamed("id", "b")
    a.join(f.broadcast(b), f.col("a") < f.col("b")).count()
    spark.conf.set("spark.sql.autoBroadcastJoinThreshold", "-1")
    spark.conf.set("spark.sql.crossJoin.enabled", "true")
    c = spark.range(0, 2_000, 1, 4).withColumnRenamed("id", "c")
    d = spark.range(0, 1_000, 1, 4).withColumnRenamed("id", "d")
    c.crossJoin(d).filter("(c + d) % 7 = 0").count()


def small_files(spark, tmp):
    """Writes 600 one-row parquet files, then reads them back (600 files of a few hundred bytes)."""
    spark.range(0, 600, 1, 600).write.mode("overwrite").parquet(tmp + "/tiny")
    spark.read.parquet(tmp + "/tiny").groupBy().sum("id").collect()


def large_broadcast(spark, tmp):
    """A broadcast hint on a ~60 MB table joined with a small fact table."""
    f = F()
    big = spark.range(0, 800_000).select(f.col("id").alias("k"),
                                         f.sha2(f.col("id").cast("string"), 512).alias("payload"))
    fact = spark.range(0, 200_000).select((f.col("id") % 800_000).alias("k"))
    fact.join(f.broadcast(big), "k").select(f.sum(f.length("payload"))).collect()


def speculative(spark, tmp):
    """A stage where one task sleeps far longer than the others, with spark.speculation on, on a
    standalone cluster of two 1-core workers on distinct loopback hosts (local mode never launches
    speculative copies: a copy may not run on the host of the original attempt)."""
    from pyspark import TaskContext
    import time as _t

    def straggle(it):
        if TaskContext.get().partitionId() == 3 and TaskContext.get().attemptNumber() == 0:
            _t.sleep(12)
        else:
            _t.sleep(0.3)
        return it
    sc = spark.sparkContext
    sc.parallelize(range(1_000), 8).mapPartitions(straggle).count()
    _t.sleep(5)  # let the killed original attempt report its TaskEnd before the app stops
    sc.parallelize(range(100), 2).count()


def killed_tasks(spark, tmp):
    """A long job in a job group is cancelled from another thread: running tasks are killed.
    A later job succeeds."""
    import time as _t
    sc = spark.sparkContext

    def slow(x):
        _t.sleep(0.5)
        return x

    def run():
        sc.setJobGroup("to-cancel", "job that will be cancelled", interruptOnCancel=True)
        try:
            sc.parallelize(range(400), 40).map(slow).count()
        except Exception as e:
            print("cancelled as intended:", str(e).splitlines()[0][:100], flush=True)
    t = threading.Thread(target=run)
    t.start()
    _t.sleep(6)
    sc.cancelJobGroup("to-cancel")
    t.join()
    sc.setJobGroup("after", "normal job")
    sc.parallelize(range(1_000), 2).count()


def driver_idle(spark, tmp):
    """Three small jobs separated by 20 s sleeps on the driver (no task running)."""
    import time as _t
    f = F()
    for i in range(3):
        spark.range(0, 100_000).groupBy((f.col("id") % 10).alias("k")).count().collect()
        if i < 2:
            _t.sleep(20)
    spark.range(0, 100_000).selectExpr("sum(id)").collect()


def clean_small(spark, tmp):
    """Negative control: balanced CPU-bound SQL keeping both cores busy (~15 s), no skew, spill,
    failures, UDFs, nested loops, broadcasts of note or idle gaps."""
    f = F()
    df = spark.range(0, 12_000_000, 1, 4).select(
        (f.col("id") % 1000).alias("k"), f.sha2(f.col("id").cast("string"), 256).alias("h"))
    df.groupBy("k").agg(f.countDistinct(f.substring("h", 1, 3)).alias("n")).collect()
    spark.range(0, 6_000_000, 1, 4).select(f.sha2(f.col("id").cast("string"), 512).alias("h")) \
        .agg(f.max("h")).collect()


def gc_pressure(spark, tmp):
    """Caches (MEMORY_ONLY) more than a 512 MB serial-GC heap holds comfortably and scans it:
    the JVM spends a large share of task time collecting garbage."""
    from pyspark import StorageLevel
    f = F()
    df = spark.range(0, 3_500_000, 1, 4).select(
        (f.col("id") % 50_000).alias("k"), f.sha2(f.col("id").cast("string"), 512).alias("s"))
    df = df.persist(StorageLevel.MEMORY_ONLY)
    df.count()
    df.count()
    df.unpersist()


PII = {
    "app_name": "pii_planted for alice@example.com",
    "email": "alice@example.com",
    "email2": "bob.smith@corp.example.org",
    "ssn": "123-45-6789",
    "card": "4111 1111 1111 1111",
    "card_compact": "4111111111111111",
    "phone": "+1 415-555-0100",
    "password": "hunter2-SECRET",
    "s3_secret": "AKIAPLANTEDSECRETKEY0000wJalrXUtnFEMI",
    "s3_access": "AKIAPLANTED00ACCESS0",
    "token": "tok-PLANTED-9f8e7d6c",
    "udf_error_email": "carol@example.net",
    "path_email": "dave@example.com",
    "luhn_invalid": "4111 1111 1111 1112",
}


def pii_planted(spark, tmp):
    """Planted personal data and secrets everywhere a log can hold strings (see
    testdata/pii-planted.json): app name, confs (Spark's own redaction disabled with a
    regex that matches nothing, so the secrets reach the log), sun.java.command, SQL text in
    job descriptions, literals in filters (PushedFilters, PartitionFilters, IN-lists), a path
    containing an e-mail, a Python UDF raising an exception holding an e-mail, AQE on."""
    f = F()
    p = PII
    sc = spark.sparkContext
    rows = [(p["email"], p["ssn"], p["card"], p["phone"], 10),
            (p["email2"], "987-65-4320", "5500 0000 0000 0004", "+44 20 7946 0958", 20),
            ("nobody@example.com", "000-00-0000", p["luhn_invalid"], "n/a", 30)]
    df = spark.createDataFrame(rows * 200, "email string, ssn string, card string, phone string, amount int")
    base = tmp + "/" + p["path_email"] + "/customers"
    df.write.mode("overwrite").partitionBy("email").parquet(base)
    df.createOrReplaceTempView("customers_mem")
    spark.read.parquet(base).createOrReplaceTempView("customers")
    q1 = (f"SELECT email, count(*) c, sum(amount) s FROM customers WHERE email = '{p['email']}' "
          f"AND ssn = '{p['ssn']}' GROUP BY email")
    sc.setJobDescription(q1)
    spark.sql(q1).collect()
    q2 = (f"SELECT ssn, max(amount) FROM customers_mem WHERE card IN ('{p['card']}', '{p['card_compact']}') "
          f"OR phone = '{p['phone']}' OR email LIKE '%{p['email2']}%' GROUP BY ssn")
    sc.setJobDescription(q2)
    spark.sql(q2).collect()
    sc.setJobDescription(f"nightly export for {p['email']} ssn {p['ssn']} batch {p['luhn_invalid']}")
    spark.table("customers").filter(f.col("phone") == p["phone"]).select("ssn", "amount").join(
        spark.table("customers_mem").select("ssn", "card"), "ssn").groupBy("card").count().collect()
    sc.setJobDescription(None)

    def check(email):
        if email == p["email"]:
            raise ValueError(f"record rejected for {p['udf_error_email']} (contact {email})")
        return len(email)
    bad = f.udf(check, "int", useArrow=False)  # row-at-a-time (BatchEvalPython)
    try:
        spark.table("customers_mem").repartition(2).select(bad("email").alias("n")).agg(f.sum("n")).collect()
    except Exception as e:
        print("udf failed as intended:", type(e).__name__, flush=True)
    spark.table("customers").groupBy("ssn").agg(f.sum("amount")).collect()


WORKLOADS = {
    # name: (function, extra confs, options)
    "etl_mixed": (etl_mixed, {}, {}),
    "join_skew": (join_skew, {}, {}),
    "cache_pressure": (cache_pressure, {"spark.driver.memory": "600m"}, {}),
    "python_udf": (python_udf, {}, {}),
    "many_small_tasks": (many_small_tasks, {}, {}),
    "etl_mixed_lz4": (etl_mixed, {"spark.eventLog.compression.codec": "lz4", "spark.eventLog.compress": "true",
                                   "spark.eventLog.rolling.enabled": "false"}, {}),
    "join_skew_snappy": (join_skew, {"spark.eventLog.compression.codec": "snappy", "spark.eventLog.compress": "true",
                                      "spark.eventLog.rolling.enabled": "false"}, {}),
    "python_udf_plain": (python_udf, {"spark.eventLog.compress": "false",
                                       "spark.eventLog.rolling.enabled": "false"}, {}),
    "etl_mixed_rolling": (etl_mixed, {"spark.eventLog.rolling.maxFileSize": "10m",
                                       "spark.eventLog.compress": "false"}, {}),
    # layout coverage
    "rolling_3files_zstd": (rolling_many, {"spark.eventLog.rolling.enabled": "true",
                                           "spark.eventLog.rolling.maxFileSize": "10m",
                                           "spark.eventLog.compress": "true",
                                           "spark.eventLog.compression.codec": "zstd"}, {}),
    # insight kinds
    "task_failures": (task_failures, {"spark.task.maxFailures": "4"}, {"master": "local[2,4]"}),
    "job_failure": (job_failure, {"spark.task.maxFailures": "4"}, {"master": "local[2,4]"}),
    "spill": (spill, {"spark.driver.memory": "512m", "spark.sql.shuffle.partitions": "4",
                      "spark.shuffle.spill.numElementsForceSpillThreshold": "50000",
                      "spark.shuffle.sort.bypassMergeThreshold": "1",
                      "spark.sql.adaptive.enabled": "false"}, {}),
    "nested_loop_join": (nested_loop_join, {}, {}),
    "gc_pressure": (gc_pressure, {"spark.driver.memory": "512m", "spark.sql.shuffle.partitions": "4",
                                  "spark.driver.extraJavaOptions": "-XX:+UseSerialGC",
                                  "spark.memory.storageFraction": "0.1",
                                  "spark.sql.adaptive.enabled": "false"}, {}),
    "small_files": (small_files, {}, {}),
    "large_broadcast": (large_broadcast, {"spark.driver.memory": "2g",
                                          "spark.sql.autoBroadcastJoinThreshold": "-1"}, {}),
    "speculative": (speculative, {"spark.speculation": "true", "spark.speculation.multiplier": "1.5",
                                  "spark.speculation.quantile": "0.5", "spark.speculation.interval": "200ms",
                                  "spark.speculation.minTaskRuntime": "500ms",
                                  "spark.executor.cores": "1", "spark.executor.memory": "768m",
                                  "spark.driver.host": "127.0.0.1"}, {"cluster": 2}),
    "killed_tasks": (killed_tasks, {}, {}),
    "driver_idle": (driver_idle, {}, {}),
    "clean_small": (clean_small, {"spark.sql.shuffle.partitions": "4"}, {}),
    "pii_planted": (pii_planted, {
        "spark.redaction.regex": "(?!)",
        "spark.myapp.password": PII["password"],
        "spark.hadoop.fs.s3a.secret.key": PII["s3_secret"],
        "spark.hadoop.fs.s3a.access.key": PII["s3_access"],
        "spark.myapp.api.token": PII["token"],
        "spark.myapp.owner": PII["email"],
        "spark.myapp.owner.ssn": PII["ssn"],
        "spark.myapp.billing.card": PII["card"],
        "spark.myapp.oncall.phone": PII["phone"],
        "spark.sql.adaptive.enabled": "true",
        "spark.task.maxFailures": "2",
    }, {"app_name": PII["app_name"],
        # on the spark-submit command line, so also in sun.java.command (the regex is set there
        # too: it must be in effect before the JVM's system properties are recorded)
        "submit_args": "--conf spark.redaction.regex=(?!) "
                       f"--conf spark.myapp.cmdline.contact={PII['email']} "
                       f"--conf spark.myapp.cmdline.secret={PII['password']} "
                       f"--conf spark.myapp.cmdline.ssn={PII['ssn']} pyspark-shell"}),
}

# codec x layout coverage (small workload) and in-progress logs (SIGKILL of the driver JVM)
for _codec in ["zstd", "lz4", "snappy", "lzf", "none"]:
    _comp = {"spark.eventLog.compress": "false"} if _codec == "none" else {
        "spark.eventLog.compress": "true", "spark.eventLog.compression.codec": _codec}
    _cn = "plain" if _codec == "none" else _codec
    for _layout, _roll in [("single", "false"), ("rolling", "true")]:
        _c = dict(_comp, **{"spark.eventLog.rolling.enabled": _roll})
        if _codec != "none":
            WORKLOADS[f"codec_{_cn}_{_layout}"] = (codec_small, _c, {})
        WORKLOADS[f"inprogress_{_cn}_{_layout}"] = (until_killed, _c, {"kill_after": 1 if _codec == "none" else 6})

# Spark 3.5 set (run with .venv-spark35): spark.eventLog.compress=true for each codec
SPARK35 = ["codec_zstd_single", "codec_lz4_single", "codec_snappy_single", "codec_lzf_single",
           "codec_zstd_rolling", "inprogress_zstd_single", "inprogress_plain_single", "task_failures"]
SPARK43 = [n for n in WORKLOADS if n not in {"etl_mixed", "join_skew", "cache_pressure", "python_udf",
                                            "many_small_tasks", "etl_mixed_lz4", "join_skew_snappy",
                                            "python_udf_plain", "etl_mixed_rolling"}]


def start_cluster(workers):
    """A standalone Master and `workers` Workers (1 core, 1 GiB each) on loopback, each Worker on
    its own loopback address (127.0.0.1, 127.0.0.2, ...) so Spark sees distinct hosts — needed for
    speculative copies, which never run on the host of the original attempt. Returns (url, procs)."""
    import pyspark
    home = os.path.dirname(pyspark.__file__)
    env = dict(os.environ, SPARK_HOME=home, SPARK_NO_DAEMONIZE="1",
               PYSPARK_PYTHON=sys.executable, SPARK_WORKER_DIR="/tmp/gen-eventlogs-workers")
    cls = os.path.join(home, "bin", "spark-class")
    logf = open("/tmp/gen-eventlogs-cluster.log", "w")
    port = 17077
    procs = [subprocess.Popen([cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                               "--port", str(port), "--webui-port", "18180"], env=env,
                              stdout=logf, stderr=subprocess.STDOUT)]
    url = f"spark://127.0.0.1:{port}"
    time.sleep(5)
    for i in range(workers):
        host = f"127.0.0.{i + 1}"
        procs.append(subprocess.Popen([cls, "org.apache.spark.deploy.worker.Worker", "--host", host,
                                       "--cores", "1", "--memory", "1g", "--webui-port", str(18181 + i), url],
                                      env=dict(env, SPARK_LOCAL_IP=host), stdout=logf, stderr=subprocess.STDOUT))
    time.sleep(8)
    return url, procs


def run_killed(out, name, kill_after):
    """Run a workload in a child, SIGKILL its driver JVM `kill_after` s after the first job."""
    p = subprocess.Popen([sys.executable, SCRIPT, out, name, "--child"], stdout=subprocess.PIPE,
                         text=True)
    jvm = None
    t_first = None
    for line in p.stdout:
        sys.stdout.write(f"  [{name}] {line}")
        if line.startswith("JVMPID "):
            jvm = int(line.split()[1])
        if line.startswith("job 1 done"):
            t_first = time.time()
            break
    if jvm is None or t_first is None:
        p.kill()
        raise SystemExit(f"{name}: child did not start")
    threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
    time.sleep(kill_after)
    os.kill(jvm, signal.SIGKILL)
    time.sleep(0.5)
    p.kill()
    p.wait()
    print(f"{name}: driver JVM {jvm} SIGKILLed {kill_after}s after the first job", flush=True)


def main():
    args = sys.argv[1:]
    if args and args[0] == "--list":
        for n, (fn, extra, opts) in WORKLOADS.items():
            print(f"{n:28s} {(fn.__doc__ or '').strip().splitlines()[0]}")
        return
    child = "--child" in args
    args = [a for a in args if a != "--child"]
    out, names = args[0], [a for a in args[1:] if not a.startswith(("--master", "spark://"))] or list(WORKLOADS)
    if len(names) > 1:  # one JVM per workload: driver settings only apply at JVM start
        for n in names:
            subprocess.run([sys.executable, SCRIPT, out, n], check=False)
        return
    name = names[0]
    fn, extra, opts = WORKLOADS[name]
    if not child:  # a fresh directory: one application per workload directory
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
    if "kill_after" in opts and not child:
        run_killed(out, name, opts["kill_after"])
        return
    if "cluster" in opts and not child:
        url, procs = start_cluster(opts["cluster"])
        try:
            subprocess.run([sys.executable, SCRIPT, out, name, "--child", "--master", url], check=False)
        finally:
            for p in reversed(procs):
                p.terminate()
            for p in procs:
                p.wait(timeout=30)
        return
    if "--master" in args:
        opts = dict(opts, master=args[args.index("--master") + 1])
    if "submit_args" in opts:
        os.environ["PYSPARK_SUBMIT_ARGS"] = opts["submit_args"]
    spark = session(name, out, extra, opts.get("master", "local[2]"), opts.get("app_name"))
    print("JVMPID", spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid(), flush=True)
    t = time.time()
    fn(spark, "/tmp/gen-eventlogs-data/" + name)
    spark.stop()
    print(f"{name}: {time.time() - t:.1f}s", flush=True)


if __name__ == "__main__":
    main()
