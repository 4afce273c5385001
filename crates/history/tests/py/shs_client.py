"""A small client written against Spark History Server's REST API, as users' scripts are:
list the applications, then each one's stages with task-time quantiles.

Usage: python shs_client.py BASE_URL   (e.g. http://127.0.0.1:18080/api/v1)
Prints one JSON line per application and per stage; the output is what is compared.
"""
import json
import sys
import urllib.request


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def main(base):
    apps = get(f"{base}/applications?status=completed")
    for app in sorted(apps, key=lambda a: a["id"]):
        att = app["attempts"][0]
        print(json.dumps({"app": app["id"], "name": app["name"], "duration": att["duration"],
                          "sparkUser": att["sparkUser"], "version": att["appSparkVersion"]}))
        prefix = f"{base}/applications/{app['id']}"
        jobs = get(f"{prefix}/jobs")
        print(json.dumps({"jobs": len(jobs), "succeeded": sum(j["status"] == "SUCCEEDED" for j in jobs)}))
        for st in get(f"{prefix}/stages?status=complete"):
            sid, att_id = st["stageId"], st["attemptId"]
            summ = get(f"{prefix}/stages/{sid}/{att_id}/taskSummary?quantiles=0.05,0.5,0.95")
            print(json.dumps({
                "stage": sid, "attempt": att_id, "tasks": st["numTasks"],
                "runTime": st["executorRunTime"], "shuffleRead": st["shuffleReadBytes"],
                "duration_q": summ["duration"], "runTime_q": summ["executorRunTime"],
                "gc_q": summ["jvmGcTime"], "delay_q": summ["schedulerDelay"],
            }))
        execs = get(f"{prefix}/allexecutors")
        print(json.dumps({"executors": [(e["id"], e["totalTasks"], e["totalInputBytes"]) for e in execs]}))


if __name__ == "__main__":
    main(sys.argv[1].rstrip("/"))
