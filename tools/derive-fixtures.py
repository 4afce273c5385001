"""Derive the event-log fixtures Spark cannot write in local mode, from real generated logs.

Usage:  python tools/derive-fixtures.py [TESTDATA_EVENTLOGS]   (default testdata/eventlogs)
Needs:  the project's .venv (pyspark 4.3, zstandard). Run after tools/gen-eventlogs.py.

Writes under TESTDATA_EVENTLOGS/spark43/ (each documented in testdata/eventlogs/README.md):
  gzip_multimember/<app id>.gz
      codec_zstd_single's events, decompressed and gzipped as TWO concatenated gzip members,
      split in the middle of a line (how platforms archive logs; the reader must treat the
      members as one byte stream).
  attempt_suffixed_single/<app id>_1.zstd, attempt_suffixed_rolling/eventlog_v2_<app id>_1/
      copies of codec_zstd_single / codec_zstd_rolling renamed with attempt id 1 and with
      "App Attempt ID":"1" set in SparkListenerApplicationStart (local mode has no attempt id);
      every other line is byte-for-byte the original. Recompressed with zstd (python zstandard).
  malformed_lines/<app id>.zstd
      codec_zstd_single decompressed, with three malformed lines inserted in the
      middle (not JSON; an object without "Event"; a JSON array): 3 malformed lines.
  truncated_{zstd,lz4}_inprogress/<app id + 11>.<codec>.inprogress
      the in-progress zstd / lz4 logs with a new app id, recompressed with Spark's own codec
      (py4j) and cut 150 bytes before the end: the last compressed block/frame is incomplete.
  compacted_rolling_zstd/eventlog_v2_<app id + 7>/
      a copy of rolling_3files_zstd (app id changed to the original + 7 ms everywhere, so the two
      logs never share an id; recompressed with python zstandard) compacted by Spark's own
      History Server (4.3) with
      spark.history.fs.eventLog.rolling.maxFilesToRetain=1: events_<N>_<app id>.zstd.compact
      replaces the older files.
  legacy_1x_plain/local-1451649600000/, legacy_1x_lzf/local-1451649600123/
      Spark 1.x legacy directory layout (EVENT_LOG_1, SPARK_VERSION_1.6.3, optional
      COMPRESSION_CODEC_org.apache.spark.io.LZFCompressionCodec, APPLICATION_COMPLETE) built by
      hand with Spark 1.6-style events (no executor CPU time, no peak metrics, no resource
      profiles, "Data Read Method" in input metrics). The lzf variant is compressed with Spark's
      own LZF codec through py4j. A third, legacy_1x_inprogress/, lacks APPLICATION_COMPLETE and ends in a torn line.
"""
import glob, gzip, json, os, shutil, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import zstandard

HERE = os.path.dirname(os.path.abspath(__file__))


def one(pattern):
    m = sorted(glob.glob(pattern))
    if len(m) != 1:
        raise SystemExit(f"expected exactly one match for {pattern}, got {m}")
    return m[0]


def zstd_read(path):
    with open(path, "rb") as f:
        return zstandard.ZstdDecompressor().stream_reader(f, read_across_frames=True).read()


def zstd_write(path, data):
    with open(path, "wb") as f:
        f.write(zstandard.ZstdCompressor(level=19).compress(data))


def gzip_multimember(root):
    src = one(os.path.join(root, "spark43/codec_zstd_single/*.zstd"))
    data = zstd_read(src)
    app = os.path.basename(src)[:-len(".zstd")]
    cut = len(data) // 2
    while data[cut:cut + 1] in (b"\n", b"{"):  # make sure the cut is inside a line
        cut += 1
    d = os.path.join(root, "spark43/gzip_multimember")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    with open(os.path.join(d, app + ".gz"), "wb") as f:
        f.write(gzip.compress(data[:cut], mtime=0))
        f.write(gzip.compress(data[cut:], mtime=0))
    print("gzip_multimember:", app, "cut at byte", cut)


def malformed(root):
    """codec_zstd_single (recompressed, zstd) with three malformed lines in the middle: not JSON, a JSON
    object without "Event", a JSON array. Completed log: none of them is a torn tail."""
    src = one(os.path.join(root, "spark43/codec_zstd_single/*.zstd"))
    lines = zstd_read(src).split(b"\n")
    app = os.path.basename(src)[:-len(".zstd")]
    n = len(lines)
    for pos, bad in sorted([(n // 4, b"this line is not JSON {"), (n // 2, b'{"NotAnEvent":1,"x":[1,2]}'),
                            (3 * n // 4, b'[1,2,3]')], reverse=True):
        lines.insert(pos, bad)
    d = os.path.join(root, "spark43/malformed_lines")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    zstd_write(os.path.join(d, app + ".zstd"), b"\n".join(lines))
    print("malformed_lines:", app)


def truncated(root):
    """In-progress single files whose last compressed block/frame is cut short: the zstd and lz4
    in-progress logs with their app id changed (+11 ms, so they never share an id with the
    originals), recompressed with Spark's own codec (py4j), then cut 150 bytes before the end
    (inside the last block / frame)."""
    import count_events_shim as ce
    for codec in ("zstd", "lz4"):
        src = one(os.path.join(root, f"spark43/inprogress_{codec}_single/*.inprogress"))
        name = os.path.basename(src)
        old = name.split(".")[0]
        new = "local-" + str(int(old.split("-", 1)[1]) + 11)
        with open(src, "rb") as f:
            data = b"".join(ce.decoded_prefix(f, codec))
        comp = lzf_compress_with_spark(data.replace(old.encode(), new.encode()), codec)
        d = os.path.join(root, f"spark43/truncated_{codec}_inprogress")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        with open(os.path.join(d, name.replace(old, new)), "wb") as f:
            f.write(comp[:-150])
        print(f"truncated_{codec}_inprogress: {len(comp)} -> {len(comp) - 150} bytes")


def set_attempt(data):
    out = []
    for line in data.split(b"\n"):
        if b'"Event":"SparkListenerApplicationStart"' in line:
            ev = json.loads(line)
            new = {}
            for k, v in ev.items():
                new[k] = v
                if k == "App ID":
                    new["App Attempt ID"] = "1"
            new["App Attempt ID"] = "1"
            line = json.dumps(new, separators=(",", ":"), ensure_ascii=False).encode()
        out.append(line)
    return b"\n".join(out)


def attempt_suffixed(root):
    src = one(os.path.join(root, "spark43/codec_zstd_single/*.zstd"))
    app = os.path.basename(src)[:-len(".zstd")]
    d = os.path.join(root, "spark43/attempt_suffixed_single")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    zstd_write(os.path.join(d, f"{app}_1.zstd"), set_attempt(zstd_read(src)))
    srcdir = one(os.path.join(root, "spark43/codec_zstd_rolling/eventlog_v2_*"))
    app = os.path.basename(srcdir)[len("eventlog_v2_"):]
    d = os.path.join(root, "spark43/attempt_suffixed_rolling")
    shutil.rmtree(d, ignore_errors=True)
    dst = os.path.join(d, f"eventlog_v2_{app}_1")
    os.makedirs(dst)
    for n in sorted(os.listdir(srcdir)):
        if n.startswith(".") or n.endswith(".crc"):
            continue
        if n.startswith("appstatus_"):
            open(os.path.join(dst, n.replace(app, app + "_1")), "wb").close()
        elif n.startswith("events_"):
            data = zstd_read(os.path.join(srcdir, n))
            zstd_write(os.path.join(dst, n.replace(app, app + "_1")), set_attempt(data))
    print("attempt_suffixed:", app)


def compacted(root):
    import pyspark
    srcdir = one(os.path.join(root, "spark43/rolling_3files_zstd/eventlog_v2_*"))
    d = os.path.join(root, "spark43/compacted_rolling_zstd")
    shutil.rmtree(d, ignore_errors=True)
    logdir = tempfile.mkdtemp(prefix="compact-")
    # A distinct app id (old id + 7 ms), so this log and the original never share an id (their
    # History Server answers differ: compaction drops finished jobs' events).
    old = os.path.basename(srcdir)[len("eventlog_v2_"):]
    new = "local-" + str(int(old.split("-", 1)[1]) + 7)
    work = os.path.join(logdir, "eventlog_v2_" + new)
    os.makedirs(work)
    for n in sorted(os.listdir(srcdir)):
        if n.startswith(".") or n.endswith(".crc"):
            continue
        if n.startswith("appstatus_"):
            open(os.path.join(work, n.replace(old, new)), "wb").close()
        elif n.startswith("events_"):
            data = zstd_read(os.path.join(srcdir, n)).replace(old.encode(), new.encode())
            zstd_write(os.path.join(work, n.replace(old, new)), data)
    spark_home = os.path.dirname(pyspark.__file__)
    port = 18111
    env = dict(os.environ, SPARK_HOME=spark_home, SPARK_NO_DAEMONIZE="1", SPARK_LOCAL_IP="127.0.0.1")
    env["SPARK_HISTORY_OPTS"] = " ".join([
        f"-Dspark.history.fs.logDirectory=file://{logdir}", f"-Dspark.history.ui.port={port}",
        "-Dspark.history.fs.update.interval=1s", "-Dspark.ui.bindAddress=127.0.0.1",
        "-Dspark.history.fs.eventLog.rolling.maxFilesToRetain=1",
        "-Dspark.io.compression.zstd.level=19",  # a smaller committed .compact file
        "-Dspark.history.fs.cleaner.enabled=false"])
    log = open(os.path.join(logdir, "..", "compact-shs.log"), "w")
    p = subprocess.Popen([os.path.join(spark_home, "bin", "spark-class"),
                          "org.apache.spark.deploy.history.HistoryServer"], env=env, stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        t0 = time.time()
        while time.time() - t0 < 300:
            if any(n.endswith(".compact") for n in os.listdir(work)):
                time.sleep(3)  # let the compactor finish deleting the old files
                break
            time.sleep(1)
        else:
            raise SystemExit("History Server did not compact; see " + log.name)
    finally:
        p.terminate()
        p.wait(timeout=30)
    os.makedirs(d)
    shutil.copytree(work, os.path.join(d, os.path.basename(work)))
    shutil.rmtree(logdir, ignore_errors=True)
    print("compacted:", sorted(os.listdir(os.path.join(d, os.path.basename(work)))))


# --- Spark 1.x legacy directory --------------------------------------------------------------

def legacy_events(app_id, t0, complete=True):
    """A small Spark 1.6-style application: one job, a shuffle map stage and a result stage."""
    ev = [
        {"Event": "SparkListenerLogStart", "Spark Version": "1.6.3"},
        {"Event": "SparkListenerBlockManagerAdded", "Block Manager ID": {
            "Executor ID": "driver", "Host": "localhost", "Port": 50123}, "Maximum Memory": 556038881,
         "Timestamp": t0 + 310},
        {"Event": "SparkListenerEnvironmentUpdate", "JVM Information": {
            "Java Home": "/usr/lib/jvm/java-8-openjdk-amd64/jre", "Java Version": "1.8.0_121 (Oracle Corporation)",
            "Scala Version": "version 2.10.5"},
         "Spark Properties": {"spark.master": "local[2]", "spark.app.name": "legacy_wordcount",
                              "spark.eventLog.enabled": "true", "spark.eventLog.dir": "file:/tmp/spark-events",
                              "spark.executor.id": "driver", "spark.driver.host": "10.0.0.5",
                              "spark.app.id": app_id},
         "System Properties": {"java.vm.version": "25.121-b13", "user.name": "spark",
                               "sun.java.command": "org.apache.spark.deploy.SparkSubmit --class WordCount app.jar"},
         "Classpath Entries": {"/opt/spark/lib/spark-assembly-1.6.3-hadoop2.6.0.jar": "System Classpath"}},
        {"Event": "SparkListenerApplicationStart", "App Name": "legacy_wordcount", "App ID": app_id,
         "Timestamp": t0, "User": "spark"},
    ]
    rdd0 = {"RDD ID": 1, "Name": "MapPartitionsRDD", "Scope": "{\"id\":\"1\",\"name\":\"map\"}",
            "Parent IDs": [0], "Storage Level": {"Use Disk": False, "Use Memory": False,
                                                 "Deserialized": False, "Replication": 1},
            "Number of Partitions": 2, "Number of Cached Partitions": 0, "Memory Size": 0, "Disk Size": 0}
    rdd1 = dict(rdd0, **{"RDD ID": 2, "Name": "ShuffledRDD", "Scope": "{\"id\":\"2\",\"name\":\"reduceByKey\"}",
                         "Parent IDs": [1]})

    def stage(sid, name, rdds, parents, sub=None, comp=None):
        s = {"Stage ID": sid, "Stage Attempt ID": 0, "Stage Name": name, "Number of Tasks": 2,
             "RDD Info": rdds, "Parent IDs": parents, "Details": "org.apache.spark.rdd.RDD." + name,
             "Accumulables": []}
        if sub is not None:
            s["Submission Time"] = sub
        if comp is not None:
            s["Completion Time"] = comp
        return s
    s0 = stage(0, "map at WordCount.scala:12", [rdd0], [])
    s1 = stage(1, "collect at WordCount.scala:14", [rdd1], [0])
    ev.append({"Event": "SparkListenerJobStart", "Job ID": 0, "Submission Time": t0 + 1000,
               "Stage Infos": [s0, s1], "Stage IDs": [0, 1],
               "Properties": {"spark.job.description": "wordcount", "callSite.short": "collect at WordCount.scala:14"}})

    tid = 0

    def tasks(sid, t, kind):
        nonlocal tid
        out = []
        for i in range(2):
            info = {"Task ID": tid, "Index": i, "Attempt": 0, "Launch Time": t + 5 * i,
                    "Executor ID": "driver", "Host": "localhost", "Locality": "PROCESS_LOCAL",
                    "Speculative": False, "Getting Result Time": 0, "Finish Time": 0, "Failed": False,
                    "Accumulables": []}
            out.append({"Event": "SparkListenerTaskStart", "Stage ID": sid, "Stage Attempt ID": 0,
                        "Task Info": info})
            done = dict(info, **{"Finish Time": t + 400 + 100 * i})
            m = {"Host Name": "localhost", "Executor Deserialize Time": 12, "Executor Run Time": 350 + 100 * i,
                 "Result Size": 2100, "JVM GC Time": 8 * (i + 1), "Result Serialization Time": 1,
                 "Memory Bytes Spilled": 0, "Disk Bytes Spilled": 0}
            if kind == "map":
                m["Shuffle Write Metrics"] = {"Shuffle Bytes Written": 5120 + i, "Shuffle Write Time": 2400000,
                                              "Shuffle Records Written": 100}
                m["Input Metrics"] = {"Data Read Method": "Hadoop", "Bytes Read": 65536 * (i + 1),
                                      "Records Read": 1000 * (i + 1)}
            else:
                m["Shuffle Read Metrics"] = {"Remote Blocks Fetched": 0, "Local Blocks Fetched": 2,
                                             "Fetch Wait Time": 0, "Remote Bytes Read": 0,
                                             "Local Bytes Read": 5120, "Total Records Read": 100}
            out.append({"Event": "SparkListenerTaskEnd", "Stage ID": sid, "Stage Attempt ID": 0,
                        "Task Type": "ShuffleMapTask" if kind == "map" else "ResultTask",
                        "Task End Reason": {"Reason": "Success"}, "Task Info": done, "Task Metrics": m})
            tid += 1
        return out
    ev.append({"Event": "SparkListenerStageSubmitted", "Stage Info": stage(0, s0["Stage Name"], [rdd0], [], t0 + 1010),
               "Properties": {"spark.job.description": "wordcount"}})
    ev += tasks(0, t0 + 1020, "map")
    ev.append({"Event": "SparkListenerStageCompleted",
               "Stage Info": stage(0, s0["Stage Name"], [rdd0], [], t0 + 1010, t0 + 1530)})
    ev.append({"Event": "SparkListenerStageSubmitted", "Stage Info": stage(1, s1["Stage Name"], [rdd1], [0], t0 + 1540),
               "Properties": {"spark.job.description": "wordcount"}})
    ev += tasks(1, t0 + 1550, "reduce")
    if not complete:
        return ev
    ev.append({"Event": "SparkListenerStageCompleted",
               "Stage Info": stage(1, s1["Stage Name"], [rdd1], [0], t0 + 1540, t0 + 2060)})
    ev.append({"Event": "SparkListenerJobEnd", "Job ID": 0, "Completion Time": t0 + 2070,
               "Job Result": {"Result": "JobSucceeded"}})
    ev.append({"Event": "SparkListenerApplicationEnd", "Timestamp": t0 + 2500})
    return ev


def lzf_compress_with_spark(data, codec_name="lzf"):
    """Compress with Spark's own CompressionCodec (through py4j)."""
    from pyspark.java_gateway import launch_gateway
    gw = launch_gateway()
    jvm = gw.jvm
    codec = jvm.org.apache.spark.io.CompressionCodec.createCodec(jvm.org.apache.spark.SparkConf(), codec_name)
    fd, src = tempfile.mkstemp()
    os.write(fd, data)
    os.close(fd)
    dst = src + ".lzf"
    fin = jvm.java.io.FileInputStream(src)
    out = codec.compressedOutputStream(jvm.java.io.FileOutputStream(dst))
    jvm.org.apache.commons.io.IOUtils.copy(fin, out)
    out.close()
    fin.close()
    with open(dst, "rb") as f:
        comp = f.read()
    os.unlink(src)
    os.unlink(dst)
    gw.shutdown()
    return comp


def legacy(root):
    for name, app, t0, codec, complete in [
            ("legacy_1x_plain", "local-1451649600000", 1451649600000, None, True),
            ("legacy_1x_lzf", "local-1451649600123", 1451649600123, "lzf", True),
            ("legacy_1x_inprogress", "local-1451649600456", 1451649600456, None, False)]:
        d = os.path.join(root, "spark1x", name)
        shutil.rmtree(d, ignore_errors=True)
        app_dir = os.path.join(d, app)
        os.makedirs(app_dir)
        data = "".join(json.dumps(e, separators=(",", ":")) + "\n"
                       for e in legacy_events(app, t0, complete)).encode()
        if not complete:  # the driver died mid-write: a torn last line
            data += b'{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":1,"Stage Att'
        if codec == "lzf":
            data = lzf_compress_with_spark(data)
            open(os.path.join(app_dir, "COMPRESSION_CODEC_org.apache.spark.io.LZFCompressionCodec"), "wb").close()
        with open(os.path.join(app_dir, "EVENT_LOG_1"), "wb") as f:
            f.write(data)
        open(os.path.join(app_dir, "SPARK_VERSION_1.6.3"), "wb").close()
        if complete:
            open(os.path.join(app_dir, "APPLICATION_COMPLETE"), "wb").close()
        print("legacy:", name, sorted(os.listdir(app_dir)))


if __name__ == "__main__":
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "testdata", "eventlogs"))
    steps = sys.argv[2:] or ["gzip", "attempt", "malformed", "truncated", "legacy", "compact"]
    if "gzip" in steps:
        gzip_multimember(root)
    if "attempt" in steps:
        attempt_suffixed(root)
    if "malformed" in steps:
        malformed(root)
    if "truncated" in steps:
        truncated(root)
    if "legacy" in steps:
        legacy(root)
    if "compact" in steps:
        compacted(root)
