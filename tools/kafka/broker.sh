#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft, combined broker+controller) for tests, CI and benchmarks,
# run from the Maven Central jars that tools/kafka/pom.xml resolves. No Docker, no download besides Maven.
#
#   tools/kafka/broker.sh start   # fresh, empty broker on 127.0.0.1:$KAFKA_TEST_PORT (default 19092)
#   tools/kafka/broker.sh stop
#   tools/kafka/broker.sh resume  # start again on the data of the last run (an outage, not a reset)
#   tools/kafka/broker.sh status
# KAFKA_TEST_DIR (default build/kafka) holds its data and logs: one directory per broker.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=${KAFKA_TEST_DIR:-$root/build/kafka}
port=${KAFKA_TEST_PORT:-19092}
controller_port=$((port + 1))
lib=${KAFKA_TEST_LIB:-$root/build/kafka/lib}
pidfile=$work/broker.pid

resolve_jars() {
  if ! ls "$lib"/kafka_2.13-*.jar >/dev/null 2>&1; then
    echo "resolving Kafka jars from Maven Central into $lib" >&2
    mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib"
  fi
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
  if running; then echo "broker already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"; return; fi
  resolve_jars
  rm -rf "$work/data" && mkdir -p "$work/data"
  write_properties
  "${java[@]}" kafka.tools.StorageTool format -t "$("${java[@]}" kafka.tools.StorageTool random-uuid)" \
    -c "$work/server.properties" > "$work/format.log" 2>&1
  launch
}

resume() {
  if running; then echo "broker already running (pid $(cat "$pidfile")) on 127.0.0.1:$port"; return; fi
  [ -f "$work/server.properties" ] || { echo "nothing to resume in $work" >&2; exit 1; }
  launch
}

java=(java -Xms256m -Xmx768m -Dlog4j2.configurationFile="$here/log4j2.properties" -cp "$lib/*")

write_properties() {
  cat > "$work/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$work/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
}

launch() {
  nohup "${java[@]}" kafka.Kafka "$work/server.properties" > "$work/broker.log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && grep -q "Kafka Server started\|started (kafka.server" "$work/broker.log"; then
      echo "Kafka broker up on 127.0.0.1:$port (pid $(cat "$pidfile"), log $work/broker.log)"
      return
    fi
    running || { cat "$work/broker.log" >&2; echo "broker died" >&2; exit 1; }
    sleep 0.5
  done
  echo "broker did not start in 60 s; log: $work/broker.log" >&2
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$pidfile")"
    for _ in $(seq 1 60); do running || break; sleep 0.5; done
    running && kill -9 "$(cat "$pidfile")"
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  start) start ;;
  resume) resume ;;
  stop) stop ;;
  status) if running; then echo "running on 127.0.0.1:$port"; else echo "stopped"; exit 1; fi ;;
  *) echo "usage: $0 start|stop|resume|status" >&2; exit 2 ;;
esac
