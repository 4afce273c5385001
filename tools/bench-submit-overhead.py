#!/usr/bin/env python3
"""Submission overhead through the API of a running `sparkplane serve` (issue 7 benchmark).

  bench-submit-overhead.py --url http://127.0.0.1:PORT --data-dir DIR [--n 10]

Uses the bootstrap Administrator key in DIR/admin-apikey to create an instance and a Writer,
uploads a Python file that only sleeps, and submits it N times one after the other. For each
run it reports the client's POST round trip (202) and the server's own timestamps: accepted
(`submission_time`) -> `spark-submit` started (`start_time`, recorded by the app's supervisor).
Each app is stopped with DELETE once started. Standard library only; plain HTTP (use
--insecure-http on the server) on loopback.
"""
import argparse
import datetime
import json
import statistics
import time
import urllib.parse
import urllib.request

GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def call(url, method="GET", token=None, body=None, raw=None, form=None):
    headers = {}
    data = None
    if token:
        headers["Authorization"] = "Bearer " + token
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif raw is not None:
        data = raw
        headers["Content-Type"] = "application/octet-stream"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def ts(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() * 1000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--n", type=int, default=10)
    a = ap.parse_args()
    key = open(a.data_dir + "/admin-apikey").read().strip()
    tok = lambda k: call(a.url + "/identity/token", "POST", form={"grant_type": GRANT, "apikey": k})[
        "access_token"
    ]
    admin = tok(key)
    inst = call(a.url + "/v3/analytics_engines", "POST", admin, {"name": "bench"})["id"]
    user = call(a.url + "/v1/users", "POST", admin, {"name": "bench-writer"})["id"]
    apikey = call(a.url + f"/v1/users/{user}/api_keys", "POST", admin, {})["apikey"]
    call(a.url + f"/v3/analytics_engines/{inst}/access_policies/{user}", "PUT", admin, {"role": "Writer"})
    w = tok(apikey)
    base = a.url + f"/v3/analytics_engines/{inst}"
    call(base + "/files/sleep.py", "PUT", w, raw=b"import time\ntime.sleep(120)\n")
    post_ms, overhead_ms = [], []
    for i in range(a.n):
        t0 = time.monotonic()
        app = call(base + "/spark_applications", "POST", w, {"application_details": {"application": "sleep.py"}})["id"]
        post_ms.append((time.monotonic() - t0) * 1000.0)
        while True:
            d = call(base + f"/spark_applications/{app}", token=w)
            if d.get("start_time"):
                break
            time.sleep(0.05)
        overhead_ms.append(ts(d["start_time"]) - ts(d["submission_time"]))
        call(base + f"/spark_applications/{app}", "DELETE", w)
        while True:
            st = call(base + f"/spark_applications/{app}/state", token=w)["state"]
            if st in ("finished", "failed", "stopped"):
                break
            time.sleep(0.1)
        if st != "stopped":
            raise SystemExit(f"{app} ended {st}: see its driver log")
    q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
    for name, v in [("POST -> 202 (client)", post_ms), ("accepted -> spark-submit started", overhead_ms)]:
        print(
            f"{name}: median {statistics.median(v):.0f} ms, p90 {q(v, 0.9):.0f} ms, "
            f"max {max(v):.0f} ms over {len(v)} runs"
        )


if __name__ == "__main__":
    main()
