#!/usr/bin/env bash
# Seeded generator of realistic Convox log lines: bench/gen-logs.sh LINES [SEED] > file
# Mix: ~60% app output (some JSON), ~35% Kubernetes events from rollouts of several apps,
# atom status lines, failures of every class (about 4% in all), a few malformed lines.
set -eu
LINES=${1:-1000000}
SEED=${2:-42}
LC_ALL=C awk -v n="$LINES" -v seed="$SEED" '
function pick(s,   a, k) { k = split(s, a, "|"); return a[int(rand() * k) + 1] }
function hash(len,   h, i) { h = ""; for (i = 0; i < len; i++) h = h substr(alpha, int(rand() * 27) + 1, 1); return h }
BEGIN {
    srand(seed); alpha = "bcdfghjklmnpqrstvwxz2456789"
    t = 1773844251   # 2026-03-18T14:30:51Z
    svcs = "web|worker|api|scheduler"
    for (i = 1; i <= 4; i++) { rs[i] = hash(9); pod[i] = hash(5) }
    for (line = 0; line < n; line++) {
        if (rand() < 0.3) t++
        ts = strftime("%Y-%m-%dT%H:%M:%SZ", t, 1)
        si = int(rand() * 4) + 1; split(svcs, sv, "|"); s = sv[si]
        p = s "-" rs[si] "-" pod[si]
        r = rand()
        if (r < 0.45) {
            printf "%s service/%s/%s %s %s %d %dms\n", ts, s, p, pick("GET|POST|PUT"), pick("/|/health|/api/v1/items|/login"), pick("200|200|200|201|404|500"), int(rand() * 900)
        } else if (r < 0.60) {
            printf "%s service/%s/%s {\"level\":\"%s\",\"msg\":\"%s\",\"req_id\":\"%s\",\"dur_ms\":%d}\n", ts, s, p, pick("info|info|warn|error"), pick("request done|cache miss|job finished|retrying upstream"), hash(12), int(rand() * 500)
        } else if (r < 0.63) {
            if (rand() < 0.5) { rs[si] = hash(9) }
            printf "%s system/k8s/%s Scaled up replica set %s-%s to %d\n", ts, s, s, rs[si], int(rand() * 4) + 1
        } else if (r < 0.68) {
            pod[si] = hash(5); p = s "-" rs[si] "-" pod[si]
            printf "%s system/k8s/%s-%s Created pod: %s\n", ts, s, rs[si], p
        } else if (r < 0.90) {
            printf "%s system/k8s/%s %s\n", ts, p, pick("Pulling image \"registry.host/convox/myapp:" s ".BABCDEFGHI\"|Successfully pulled image \"registry.host/convox/myapp:" s ".BABCDEFGHI\" in 1.2s (1.3s including waiting)|Created container myapp|Created container: myapp|Started container myapp|Container created|Container started")
        } else if (r < 0.93) {
            printf "%s system/k8s/atom/app Status: %s\n", ts, pick("Running => Pending|Pending => Updating|Updating => Running|Updating => Deadline|Deadline => Rollback|Rollback => Reverted")
        } else if (r < 0.97) {
            # a failure of every class (rules.d/20-pod-failures.json), the common ones more often
            f = int(rand() * 16)
            if (f < 6) {
                printf "%s system/k8s/%s %s\n", ts, p, pick("Back-off restarting failed container myapp in pod " p "_myapp(5c2f)|Readiness probe failed: HTTP probe failed with statuscode: 404|Failed to pull image \"x:y\": not found|Error: secret \"db\" not found|Liveness probe failed: Get \"http://10.0.0.1:3000/\": context deadline exceeded|(combined from similar events): Readiness probe failed: connection refused")
            } else if (f == 6) {
                printf "%s system/k8s/%s-%s Error creating: pods \"%s-%s-\" is forbidden: exceeded quota: compute-resources, requested: requests.cpu=500m, used: requests.cpu=3750m, limited: requests.cpu=4\n", ts, s, rs[si], s, rs[si]
            } else if (f == 7) {
                printf "%s service/%s/%s %s\n", ts, s, p, pick("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory|Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space")
            } else {
                printf "%s system/k8s/%s %s\n", ts, p, pick("Failed to apply default image tag \"Acme/web:latest\": couldn\047t parse image reference \"Acme/web:latest\": invalid reference format: repository name must be lowercase|0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.|Error: container has runAsNonRoot and image will run as root|Error: failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"bundle\": executable file not found in $PATH: unknown|Unable to attach or mount volumes: unmounted volumes=[data], unattached volumes=[data kube-api-access-9xk2p], failed to process volumes=[]: timed out waiting for the condition|The node was low on resource: memory. Container myapp was using 1431828Ki, which exceeds its request of 512Mi. |Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"4a7c0e9d3b2f\": plugin type=\"aws-cni\" name=\"aws-cni\" failed (add): add cmd: failed to assign an IP address to container|Node is not ready")
            }
        } else if (r < 0.985) {
            printf "%s\n", pick("Promoting RBCDEFGHIJ... |OK|ERROR: rollback|  " p "  " s "  crashed")
        } else {
            printf "%s\n", pick("garbage line without structure|2026-13-99T99:99:99Z nope|[pod/broken|\t\t|panic: runtime error: index out of range")
        }
    }
}'
