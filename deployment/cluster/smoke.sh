#!/usr/bin/env bash
# End-to-end check of the cluster (deployment/cluster/start.sh): index clips through the API,
# see both workers take jobs, search through both API servers against the replica, kill a
# worker (kill -9) in the middle of a job and see the other finish it, stop everything.
#
#   bash deployment/cluster/smoke.sh        (SMOKE_CLIPS=N clips, default 8)
#
# Clips: the N shortest of ../shared/corpus/videos (relative to the checkout) when it is there,
# else N generated with ffmpeg. Exits 0 when every check passed; its last line holds the figures.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO="$(cd "$HERE/../.." && pwd -P)"
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
export RETRACE_CLUSTER_DIR="${RETRACE_CLUSTER_DIR:-/var/tmp/retrace-cluster-smoke}"
BASE="$RETRACE_CLUSTER_DIR"
PG_PORT="${CLUSTER_PG_PORT:-54340}"
API_PORT="${CLUSTER_API_PORT:-7841}"
API1="http://127.0.0.1:$API_PORT"
API2="http://127.0.0.1:$((API_PORT + 1))"
N="${SMOKE_CLIPS:-8}"
CORPUS="$REPO/../shared/corpus/videos"
T0=$(date +%s.%N)

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[smoke %6ss] %s\n' "$(elapsed "$T0")" "$*" >&2; }
fail() {
  printf '[smoke] FAILED: %s\n' "$*" >&2
  exit 1
}
sql() { "$PGBIN/psql" -X -q -tA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d retrace -c "$1"; }
for tool in curl jq ffmpeg ffprobe; do command -v "$tool" >/dev/null || fail "$tool is needed"; done

cleanup() {
  # SMOKE_KEEP=1 keeps BASE (logs, databases' files) to look at after a failure.
  if [ "${SMOKE_KEEP:-0}" = 1 ]; then bash "$HERE/stop.sh" "$BASE" >/dev/null 2>&1 || true; else bash "$HERE/stop.sh" "$BASE" --purge >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT
bash "$HERE/stop.sh" "$BASE" --purge >/dev/null 2>&1 || true
bash "$HERE/start.sh" "$BASE"
W1=$(cat "$BASE/pids/worker1.pid")
W2=$(cat "$BASE/pids/worker2.pid")
WORK="$BASE/smoke"
mkdir -p "$WORK"

# Clips to index, and a longer one to kill a worker on.
clips=()
if [ -d "$CORPUS" ]; then
  # Files whose container states no duration (N/A) are left out: they cannot be ranked.
  mapfile -t by_length < <(for f in "$CORPUS"/*; do printf '%s %s\n' "$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f" 2>/dev/null)" "$f"; done | awk '$1 ~ /^[0-9.]+$/' | sort -g | awk '{ print $2 }')
  clips=("${by_length[@]:0:N}")
  # The victim: the first clip of at least 25 s, long enough to be killed mid-ingest.
  VICTIM=""
  for f in "${by_length[@]:N}"; do
    d=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")
    awk -v d="$d" 'BEGIN { exit !(d >= 25) }' && { VICTIM="$f"; break; }
  done
  SOURCE="corpus"
else
  for i in $(seq 1 "$N"); do
    ffmpeg -v error -y -f lavfi -i "mandelbrot=size=320x240:rate=25:start_scale=$((i + 1))" -t 8 -pix_fmt yuv420p "$WORK/gen$i.mp4"
    clips+=("$WORK/gen$i.mp4")
  done
  ffmpeg -v error -y -f lavfi -i "life=size=320x240:rate=25:mold=10:seed=7" -t 40 -pix_fmt yuv420p "$WORK/victim.mp4"
  VICTIM="$WORK/victim.mp4"
  SOURCE="generated"
fi
[ -n "$VICTIM" ] || fail "no clip of 25 s or more to kill a worker on"
log "$SOURCE: ${#clips[@]} clips to index, victim $(basename "$VICTIM")"

upload() { # api, file, purpose → job id (tus 1.0: the bytes go with the creation request)
  local api="$1" file="$2" purpose="$3" location
  location=$(curl -sf -D - -o /dev/null -X POST "$api/api/uploads" -H 'Tus-Resumable: 1.0.0' \
    -H "Upload-Length: $(stat -c %s "$file")" -H 'Content-Type: application/offset+octet-stream' \
    -H "Upload-Metadata: filename $(basename "$file" | tr -d '\n' | base64 -w0),purpose $(printf %s "$purpose" | base64 -w0)" \
    --data-binary @"$file" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  [ -n "$location" ] || fail "upload of $file refused"
  curl -sf -H 'content-type: application/json' -d '{}' "$api$location/complete" | jq -r .job.id
}
wait_job() { # api, job id, timeout s → final job JSON
  local api="$1" id="$2" t_end=$(($(date +%s) + $3)) j
  while :; do
    j=$(curl -sf "$api/api/jobs/$id")
    case "$(jq -r .stage <<<"$j")" in done | failed)
      echo "$j"
      return 0
      ;;
    esac
    [ "$(date +%s)" -lt "$t_end" ] || fail "job $id did not finish in $3 s: $j"
    sleep 0.3
  done
}

# 1. Index through the API, alternating between the two servers.
T_INDEX=$(date +%s.%N)
jobs=()
i=0
for f in "${clips[@]}"; do
  api=$API1
  [ $((i % 2)) = 1 ] && api=$API2
  jobs+=("$(upload "$api" "$f" index)")
  i=$((i + 1))
done
declare -A video_of
for k in "${!jobs[@]}"; do
  j=$(wait_job "$API1" "${jobs[$k]}" 300)
  [ "$(jq -r .stage <<<"$j")" = done ] || fail "index job of $(basename "${clips[$k]}") failed: $(jq -c .error <<<"$j")"
  video_of[$k]=$(jq -r .result.videoId <<<"$j")
done
INDEX_S=$(elapsed "$T_INDEX")
owners=$(sql "SELECT split_part(owner, ':', 2) || '=' || count(*) FROM jobs WHERE kind = 'index' AND stage = 'done' GROUP BY split_part(owner, ':', 2) ORDER BY 1")
BY_W1=$(sql "SELECT count(*) FROM jobs WHERE kind = 'index' AND stage = 'done' AND split_part(owner, ':', 2) = '$W1'")
BY_W2=$(sql "SELECT count(*) FROM jobs WHERE kind = 'index' AND stage = 'done' AND split_part(owner, ':', 2) = '$W2'")
log "indexed ${#clips[@]} clips in $INDEX_S s; jobs per worker pid: $(tr '\n' ' ' <<<"$owners")"
[ "$((BY_W1 + BY_W2))" = "${#clips[@]}" ] || fail "jobs were run by someone else than the two workers: $owners"
[ "$BY_W1" -gt 0 ] && [ "$BY_W2" -gt 0 ] || fail "one worker took every job (worker1 $BY_W1, worker2 $BY_W2)"
[ "$(sql "SELECT count(*) FROM videos WHERE status = 'ready'")" = "${#clips[@]}" ] || fail "not every clip indexed exactly once"

# 2. Wait until the replica has every video (the API says so), then search through both servers.
T_REPL=$(date +%s.%N)
for k in "${!jobs[@]}"; do
  for _ in $(seq 1 100); do
    [ "$(curl -sf "$API2/api/videos/${video_of[$k]}" | jq -r .replicaVisible)" = true ] && break
    sleep 0.1
  done
  [ "$(curl -sf "$API2/api/videos/${video_of[$k]}" | jq -r .replicaVisible)" = true ] || fail "video ${video_of[$k]} never visible on the replica"
done
REPL_S=$(elapsed "$T_REPL")
[ "$(curl -sf "$API1/api/videos?limit=200" | jq -r .total)" = "${#clips[@]}" ] || fail "API 1 does not list every video from the replica"
search_ok=0
SEARCH_MS=()
for q in 0 1; do
  k=$((q * 3 % ${#clips[@]}))
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "${clips[$k]}")
  ss=$(awk -v d="$dur" 'BEGIN { printf "%.2f", (d > 6 ? d / 3 : 0) }')
  ffmpeg -v error -y -ss "$ss" -i "${clips[$k]}" -t 4 -an -vf "scale=iw*3/4:-2" -c:v libx264 -preset veryfast -pix_fmt yuv420p "$WORK/query$q.mp4"
  for api in "$API1" "$API2"; do
    t=$(date +%s%N)
    id=$(upload "$api" "$WORK/query$q.mp4" search)
    j=$(wait_job "$api" "$id" 120)
    SEARCH_MS+=($((($(date +%s%N) - t) / 1000000)))
    top=$(curl -sf "$api/api/jobs/$id/result" | jq -r '.matches[0].videoId // "none"')
    [ "$top" = "${video_of[$k]}" ] || fail "search of a cut of $(basename "${clips[$k]}") through $api found $top, not ${video_of[$k]}"
    search_ok=$((search_ok + 1))
  done
done
log "searches right through both API servers: $search_ok of 4 (ms: ${SEARCH_MS[*]})"
# The searches ran in the API servers (their own lane), not in the workers.
[ "$(sql "SELECT count(*) FROM jobs WHERE kind = 'search' AND split_part(owner, ':', 2) IN ('$W1', '$W2')")" = 0 ] || fail "a worker ran a search"

# 3. Kill the worker running the victim's ingest (kill -9) and see the other one finish it.
vid_job=$(upload "$API1" "$VICTIM" index)
victim_pid=""
for _ in $(seq 1 300); do
  st=$(sql "SELECT stage || ' ' || split_part(owner, ':', 2) FROM jobs WHERE id = '$vid_job'")
  case "$st" in sampling* | describing* | storing*)
    victim_pid=${st#* }
    break
    ;;
  esac
  sleep 0.1
done
[ -n "$victim_pid" ] || fail "the victim's ingest never got under way: $st"
survivor_pid=$W1
[ "$victim_pid" = "$W1" ] && survivor_pid=$W2
[ "$victim_pid" = "$W1" ] || [ "$victim_pid" = "$W2" ] || fail "the victim's job is owned by $victim_pid, not a worker"
stage_at_kill=${st%% *}
kill -9 "$victim_pid"
T_KILL=$(date +%s.%N)
log "killed worker $victim_pid (kill -9) while the job was $stage_at_kill"
# While it is retried, the half-done ingest must never show: the victim's video may be listed
# only complete (ready, all its frames stored), which it is a moment before its job is marked done.
seen_frames=""
while :; do
  listing=$(curl -sf "$API1/api/videos?limit=200")
  if [ "$(jq -r .total <<<"$listing")" -gt "${#clips[@]}" ]; then
    extra=$(jq -c --argjson known "$(printf '%s\n' "${video_of[@]}" | jq -R . | jq -s .)" '[.items[] | select(.id as $i | $known | index($i) | not)]' <<<"$listing")
    [ "$(jq -r 'map(.status) | unique | join(",")' <<<"$extra")" = ready ] || fail "an unfinished video was listed: $extra"
    seen_frames=$(jq -r '.[0].frameCount' <<<"$extra")
  fi
  st=$(sql "SELECT stage FROM jobs WHERE id = '$vid_job'")
  [ "$st" = done ] || [ "$st" = failed ] && break
  awk -v t="$(elapsed "$T_KILL")" 'BEGIN { exit !(t > 150) }' && fail "the killed worker's job did not finish in 150 s"
  sleep 0.2
done
RECOVER_S=$(elapsed "$T_KILL")
j=$(curl -sf "$API1/api/jobs/$vid_job")
[ "$(jq -r .stage <<<"$j")" = done ] || fail "the killed worker's job failed: $(jq -c .error <<<"$j")"
ATTEMPTS=$(jq -r .attempts <<<"$j")
finisher=$(sql "SELECT split_part(owner, ':', 2) FROM jobs WHERE id = '$vid_job'")
[ "$finisher" = "$survivor_pid" ] || fail "the job was finished by $finisher, not the surviving worker $survivor_pid"
[ "$ATTEMPTS" = 2 ] || fail "the job took $ATTEMPTS attempts, not 2"
final_frames=$(jq -r .result.frames <<<"$j")
[ -z "$seen_frames" ] || [ "$seen_frames" = "$final_frames" ] || fail "the victim's video was listed with $seen_frames frames before it had all $final_frames"
[ "$(sql "SELECT count(*) FROM videos")" = $((${#clips[@]} + 1)) ] || fail "videos left over: $(sql "SELECT count(*) || ' rows, ' || count(*) FILTER (WHERE status <> 'ready') || ' not ready' FROM videos")"
[ "$(sql "SELECT count(DISTINCT content_hash) FROM videos WHERE status = 'ready'")" = $((${#clips[@]} + 1)) ] || fail "a clip was indexed twice"
log "the job was finished by worker $survivor_pid, attempt $ATTEMPTS, $RECOVER_S s after the kill; no half-done video was ever listed"

# 4. Stop everything and make sure nothing is left running.
pids=$(cat "$BASE"/pids/*.pid)
bash "$HERE/stop.sh" "$BASE" >/dev/null 2>&1
for p in $pids; do kill -0 "$p" 2>/dev/null && fail "process $p still running after stop.sh"; done
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null && fail "the primary still runs after stop.sh"
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p $((PG_PORT + 1)) 2>/dev/null && fail "the replica still runs after stop.sh"
TOTAL_S=$(elapsed "$T0")
echo "SMOKE OK source=$SOURCE clips=${#clips[@]} index_s=$INDEX_S jobs_worker1=$BY_W1 jobs_worker2=$BY_W2 replica_visible_s=$REPL_S searches_right=$search_ok/4 search_ms=$(
  IFS=,
  echo "${SEARCH_MS[*]}"
) killed_during=$stage_at_kill recovered_s=$RECOVER_S attempts=$ATTEMPTS total_s=$TOTAL_S load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
