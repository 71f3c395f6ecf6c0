#!/usr/bin/env bash
# Install retrace as a user would and use it: `npm pack`, install the tarball into an empty
# project (no checkout, no devDependencies), then `retrace index` and `retrace search` on a clip
# made with the npm-shipped ffmpeg, with no ffmpeg on PATH. Also checks that `retrace bench` says
# where the benchmarks run, and that both entry points import.
#   .ci/package-install-check.sh            (uses the npm cache first; reaches the registry only for what it lacks)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$ROOT"
TGZ="$WORK/$(npm pack --silent --pack-destination "$WORK" | tail -n1)"
echo "packed:    $TGZ ($(du -h "$TGZ" | cut -f1))"

mkdir "$WORK/app"
cd "$WORK/app"
echo '{ "name": "retrace-install-check", "private": true }' >package.json
# The CUDA download of onnxruntime-node's install script is skipped (it is optional either way).
ONNXRUNTIME_NODE_INSTALL=skip npm install --prefer-offline --no-audit --no-fund "$TGZ"

# No ffmpeg on PATH, as on a machine with Node and nothing else: every PATH folder that holds an
# ffmpeg or ffprobe is replaced by a mirror of its other programs.
NO_FF_PATH=""
i=0
IFS=: read -r -a path_dirs <<<"$PATH"
for dir in "${path_dirs[@]}"; do
  [ -n "$dir" ] || continue
  if [ -e "$dir/ffmpeg" ] || [ -e "$dir/ffprobe" ]; then
    i=$((i + 1))
    mirror="$WORK/path-$i"
    mkdir "$mirror"
    for f in "$dir"/*; do
      case "$(basename "$f")" in ffmpeg | ffprobe) ;; *) ln -s "$f" "$mirror/" ;; esac
    done
    dir="$mirror"
  fi
  NO_FF_PATH="${NO_FF_PATH:+$NO_FF_PATH:}$dir"
done
export PATH="$NO_FF_PATH"
unset FFMPEG_PATH FFPROBE_PATH
if command -v ffmpeg >/dev/null || command -v ffprobe >/dev/null; then echo "FAIL: ffmpeg still on PATH" >&2; exit 1; fi
FF="$(node -p "require('@ffmpeg-installer/ffmpeg').path")"
"$FF" -hide_banner -loglevel error -y -f lavfi -i 'mandelbrot=s=320x240:r=25' -t 12 -c:v libx264 -pix_fmt yuv420p ref.mp4
"$FF" -hide_banner -loglevel error -y -f lavfi -i 'testsrc2=s=320x240:r=25' -t 6 -c:v libx264 -pix_fmt yuv420p other.mp4
"$FF" -hide_banner -loglevel error -y -ss 4 -i ref.mp4 -t 5 -vf 'scale=240:180,eq=brightness=0.05' -c:v libx264 -crf 30 query.mp4

npx retrace index ref.mp4 other.mp4 --json | tee index.json
[ "$(grep -c '"status":"indexed"' index.json)" = 2 ] || { echo "FAIL: index did not index both clips" >&2; exit 1; }
npx retrace search query.mp4 --json | tee search.json
node -e '
  const r = JSON.parse(require("fs").readFileSync("search.json", "utf8"));
  const top = r.matches && r.matches[0];
  if (!top || !String(top.path).endsWith("ref.mp4")) { console.error("FAIL: the copy was not found"); process.exit(1); }
  console.log(`found: ${top.path} score ${top.score}`);'

rc=0
npx retrace bench ingest ref.mp4 2>bench.err || rc=$?
cat bench.err
[ "$rc" = 7 ] && grep -q 'from a checkout' bench.err || { echo "FAIL: retrace bench should exit 7 and point to a checkout (exit $rc)" >&2; exit 1; }

node --input-type=module -e '
  const lib = await import("@retrace-video/retrace");
  const server = await import("@retrace-video/retrace/server");
  if (typeof lib.Retrace !== "function" || typeof server.createServer !== "function") throw new Error("missing exports");
  console.log("imports:   @retrace-video/retrace and /server load");'
echo "package install check passed"
