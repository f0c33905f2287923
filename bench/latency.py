#!/usr/bin/env python3
"""Live latency: from appending a failure line to a followed file to its alert on stdout.

usage: latency.py ROLLWATCH RULES_DIR [COUNT]
Each line names a new service, so each raises a new crash_loop alert; prints p50/p99 in ms.
"""
import json, os, subprocess, sys, tempfile, threading, time

def main():
    rw, rules = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
    d = tempfile.mkdtemp()
    path = os.path.join(d, "app.log")
    open(path, "w").close()
    p = subprocess.Popen([rw, "run", "--rules", rules, "--app", "bench", "-q", "--output", "json", path],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    sent, got = {}, {}

    def reader():
        for raw in p.stdout:
            o = json.loads(raw)
            if o.get("type") == "alert" and o.get("status") == "firing":
                got[o["service"]] = time.monotonic()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    time.sleep(0.5)
    ts = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with open(path, "a", buffering=1) as f:
        for i in range(count):
            svc = "svc%05d" % i
            line = "%s system/k8s/%s-7d5c9f8b46-tq2xw Back-off restarting failed container app\n" % (ts, svc)
            sent[svc] = time.monotonic()
            f.write(line)
            time.sleep(0.002)
    deadline = time.monotonic() + 10
    while len(got) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    p.terminate()
    p.wait()
    lat = sorted((got[s] - sent[s]) * 1000 for s in sent if s in got)
    if not lat:
        print("latency: no alerts came back")
        return 1
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("latency: %d/%d alerts, p50 %.1f ms, p99 %.1f ms, max %.1f ms" %
          (len(lat), count, pick(0.5), pick(0.99), lat[-1]))
    return 0

sys.exit(main())
