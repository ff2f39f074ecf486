#!/usr/bin/env bash
# A local Spark Connect server for testing `rask --remote sc://127.0.0.1:PORT`.
#
#   tests/remote/spark_connect_server.sh install        pip-install pyspark 4.0.1 + client deps (if missing)
#   tests/remote/spark_connect_server.sh start [PORT]   start the server (default 15002), wait until ready
#   tests/remote/spark_connect_server.sh stop [PORT]    stop it (and its children), wait until the port is free
#   tests/remote/spark_connect_server.sh status [PORT]  exit 0 if running and listening, 1 otherwise
#
# The server is pyspark's own bin/spark-submit running org.apache.spark.sql.connect.service
# .SparkConnectServer (the pip package bundles spark-connect_2.13-4.0.1.jar but has no
# sbin/start-connect-server.sh) with master local[2], gRPC bound to 127.0.0.1:PORT only.
# It runs in its own process group in the background; its PID, log, warehouse and scratch
# files live in $RASK_SPARK_DIR (default ${TMPDIR:-/tmp}/rask-spark-connect):
#   server-PORT.pid, server-PORT.log, work-PORT/
# `start` waits up to $RASK_SPARK_START_TIMEOUT seconds (default 120; a start took 8-9 s
# on 2 cores) for the port to accept connections and prints the log's tail on failure.
#
# Environment: PYTHON (default python3), RASK_SPARK_DIR, RASK_SPARK_START_TIMEOUT,
# RASK_SPARK_DRIVER_MEMORY (default 2g), PYSPARK_SDIST (a local pyspark-4.0.1.tar.gz that
# `install` uses instead of downloading it), JAVA_HOME (else `java` on PATH; Java 17 or 21).
# Session settings worth knowing: ANSI mode is Spark 4's default (on); the session time
# zone is pinned to UTC; Parquet output writes TIMESTAMP as INT64 micros (Spark's default is
# INT96); the catalog is in-memory (no Hive metastore, no derby files).
set -euo pipefail

PYSPARK_VERSION=4.0.1
PYTHON=${PYTHON:-python3}
STATE_DIR=${RASK_SPARK_DIR:-${TMPDIR:-/tmp}/rask-spark-connect}
START_TIMEOUT=${RASK_SPARK_START_TIMEOUT:-120}
DRIVER_MEMORY=${RASK_SPARK_DRIVER_MEMORY:-2g}
DEFAULT_PORT=15002

die() { echo "spark_connect_server: $*" >&2; exit 1; }

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

pid_file() { echo "$STATE_DIR/server-$1.pid"; }
log_file() { echo "$STATE_DIR/server-$1.log"; }

# The PID recorded for port $1 if that process is still alive, else nothing.
live_pid() {
    local f pid
    f=$(pid_file "$1")
    [[ -f "$f" ]] || return 0
    pid=$(<"$f")
    if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    fi
}

pyspark_dir() {
    "$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))'
}

cmd_install() {
    if "$PYTHON" - "$PYSPARK_VERSION" <<'EOF' 2>/dev/null; then
import sys, pyspark
import pandas, pyarrow, grpc, grpc_status, google.rpc  # the Spark Connect client's deps
sys.exit(0 if pyspark.__version__ == sys.argv[1] else 1)
EOF
        echo "pyspark $PYSPARK_VERSION and the Spark Connect client deps are already installed"
        return 0
    fi
    local src="pyspark==$PYSPARK_VERSION"
    if [[ -n "${PYSPARK_SDIST:-}" ]]; then
        [[ -f "$PYSPARK_SDIST" ]] || die "PYSPARK_SDIST=$PYSPARK_SDIST is not a file"
        src=$PYSPARK_SDIST
    fi
    # The same pins as pyspark's own `connect` extra (setup.py of 4.0.1).
    "$PYTHON" -m pip install --quiet --disable-pip-version-check "$src" \
        'pandas>=2.0.0' 'pyarrow>=11.0.0' 'numpy>=1.21' \
        'grpcio>=1.67.0' 'grpcio-status>=1.67.0' 'googleapis-common-protos>=1.65.0'
    "$PYTHON" -c 'import pyspark; from pyspark.sql.connect import proto; print("installed pyspark", pyspark.__version__)'
    command -v java >/dev/null 2>&1 || [[ -n "${JAVA_HOME:-}" ]] ||
        echo "warning: no java on PATH and no JAVA_HOME; the server needs Java 17 or 21" >&2
}

cmd_start() {
    local port=${1:-$DEFAULT_PORT} pid spark_home log work
    [[ "$port" =~ ^[0-9]+$ ]] || die "bad port: $port"
    mkdir -p "$STATE_DIR"
    pid=$(live_pid "$port")
    if [[ -n "$pid" ]]; then
        port_open "$port" || die "server PID $pid for port $port is alive but not listening; see $(log_file "$port")"
        echo "Spark Connect server already running on sc://127.0.0.1:$port (PID $pid)"
        return 0
    fi
    port_open "$port" && die "port $port is already in use by another process"
    spark_home=$(pyspark_dir) || die "pyspark is not importable by $PYTHON; run: $0 install"
    [[ -x "$spark_home/bin/spark-submit" ]] || die "$spark_home/bin/spark-submit not found"
    log=$(log_file "$port")
    work="$STATE_DIR/work-$port"
    mkdir -p "$work"

    local t0=$SECONDS
    # setsid: the server leads its own process group, so `stop` can end it and its children.
    # cd: derby.log, spark-warehouse and other scratch land in the work dir, not the caller's.
    (
        cd "$work"
        export SPARK_HOME="$spark_home" SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS="$work/local"
        exec setsid "$spark_home/bin/spark-submit" \
            --class org.apache.spark.sql.connect.service.SparkConnectServer \
            --name rask-spark-connect \
            --master 'local[2]' \
            --driver-memory "$DRIVER_MEMORY" \
            --conf spark.connect.grpc.binding.address=127.0.0.1 \
            --conf "spark.connect.grpc.binding.port=$port" \
            --conf spark.driver.host=127.0.0.1 \
            --conf spark.driver.bindAddress=127.0.0.1 \
            --conf spark.ui.enabled=false \
            --conf spark.ui.showConsoleProgress=false \
            --conf spark.sql.shuffle.partitions=4 \
            --conf spark.default.parallelism=2 \
            --conf spark.sql.session.timeZone=UTC \
            --conf spark.sql.parquet.outputTimestampType=TIMESTAMP_MICROS \
            --conf spark.sql.catalogImplementation=in-memory \
            --conf "spark.sql.warehouse.dir=$work/warehouse" \
            --conf "spark.driver.extraJavaOptions=-XX:+UseParallelGC -XX:ActiveProcessorCount=2 -Djava.io.tmpdir=$work" \
            </dev/null >"$log" 2>&1
    ) &
    pid=$!
    echo "$pid" >"$(pid_file "$port")"

    while ! port_open "$port"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "spark_connect_server: the server exited before listening on port $port; log tail ($log):" >&2
            tail -n 40 "$log" >&2 || true
            rm -f "$(pid_file "$port")"
            exit 1
        fi
        if ((SECONDS - t0 >= START_TIMEOUT)); then
            echo "spark_connect_server: port $port not open after ${START_TIMEOUT}s; log tail ($log):" >&2
            tail -n 40 "$log" >&2 || true
            cmd_stop "$port" >/dev/null 2>&1 || true
            exit 1
        fi
        sleep 0.5
    done
    echo "Spark Connect server listening on sc://127.0.0.1:$port (PID $pid, started in $((SECONDS - t0)) s, log $log)"
}

cmd_stop() {
    local port=${1:-$DEFAULT_PORT} pid waited=0
    pid=$(live_pid "$port")
    if [[ -z "$pid" ]]; then
        rm -f "$(pid_file "$port")"
        port_open "$port" && die "no server of ours on port $port, but something else listens there"
        echo "no Spark Connect server running on port $port"
        return 0
    fi
    # The server was started under setsid, so it leads its own process group: signal the
    # whole group (the JVM and anything it spawned), TERM first and KILL after 30 s.
    local target=$pid
    [[ "$(ps -o pgid= -p "$pid" | tr -d ' ')" == "$pid" ]] && target="-$pid"
    kill -TERM -- "$target" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null || port_open "$port"; do
        if ((waited == 60)); then
            kill -KILL -- "$target" 2>/dev/null || true
        fi
        ((waited >= 120)) && die "server PID $pid or port $port still busy after 60 s"
        sleep 0.5
        waited=$((waited + 1))
    done
    rm -f "$(pid_file "$port")"
    echo "Spark Connect server on port $port stopped"
}

cmd_status() {
    local port=${1:-$DEFAULT_PORT} pid
    pid=$(live_pid "$port")
    if [[ -n "$pid" ]] && port_open "$port"; then
        echo "running: sc://127.0.0.1:$port (PID $pid, log $(log_file "$port"))"
        return 0
    elif [[ -n "$pid" ]]; then
        echo "starting or unhealthy: PID $pid alive but port $port not open (log $(log_file "$port"))"
        return 1
    fi
    echo "not running on port $port"
    return 1
}

[[ $# -ge 1 ]] || usage
sub=$1
shift
case "$sub" in
    install) cmd_install "$@" ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    -h | --help | help) usage ;;
    *) usage ;;
esac
