#!/bin/sh
# pipelines/score-folder.sh: a folder of images + a prompts file -> a scored
# record stream (OUT) and a markdown summary of the rewards (OUT.md).
# Run with --help for the details; the design notes are beside each step.
set -eu

prog=score-folder
usage() {
    cat <<'EOF'
usage: score-folder.sh [options] IMAGES_DIR PROMPTS.jsonl OUT.msgpack

Scores every image of IMAGES_DIR against its prompt with the chosen reward experts
and writes the scored records to OUT.msgpack (in the folder's order: file names in
byte order), then a markdown table of the rewards (n, mean, sample std per reward
and per task_type: bicot-summary) to OUT.msgpack.md and to stdout.

Join (bicot-img --prompts): an image's id is its file name without extension; it
joins the prompt with the same id. Prompt lines without an `id` (T2I-R1's files)
are numbered 0, 1, ... by position, so 0.png joins the first line. Several samples
of one prompt may be named <id>#<k> or <id>_<k> (k: digits): they join prompt <id>
and get `group`: <id>. An image with no prompt is an error (with --keep-going it
is kept with an `errors` entry).

  --scorers LIST     comma-separated experts, in the order they run (default hps):
                     hps (score-hps), vqa (score-vqa), det (score-det); each writes
                     rewards.<name>
  --hps-model M, --vqa-model M, --det-model M
                     the model of each chosen scorer (needed)
  --hps-opts W, --vqa-opts W, --det-opts W
                     more options for that scorer, as shell words (e.g.
                     --hps-opts '--tokenizer /models/bpe_simple_vocab_16e6.txt')
  -j, --jobs N       N scorer pipelines at once per host (GNU parallel --pipe-part
                     --keep-order over the records; default 1: no parallel)
  -S, --sshlogin H   hosts for GNU parallel (comma-separated; ':' is this one). bicot
                     and the models must be at the same absolute paths on every host
                     (the jobs run the programs by absolute path; relative model paths
                     are made absolute here); the records travel through ssh, so the
                     image folder need not be shared
  --block SIZE       parallel's --block: bytes of records per job (e.g. 50M), or -K:
                     K jobs per job slot (default -1: each job slot loads the models
                     once; more blocks balance uneven hosts better)
  --threads N        threads of each scorer (default: this machine's cores / jobs)
  --keep-going       a record a scorer cannot score is kept, with an `errors` entry
                     (counted apart in the summary); exit status 3
  --by KEY           group the summary by KEY instead of task_type
  --plot             also draw the means per group as bars in OUT.msgpack.png
                     (bicot-summary --plot)
  --embed            keep the PNG bytes in OUT (default: records keep `image_path`
                     only, the images stay in the folder)
  --fresh            score everything again, ignoring OUT and OUT.part
  -h, --help         this text

Resuming: scored records are appended to OUT.msgpack.part (JSON Lines) as they come
back; OUT is written (through a temporary file and a rename) only at the end, so an
interrupted run never leaves a truncated OUT. A new run skips every id that OUT or
OUT.part already has with all the chosen rewards (a record is matched by id only:
use --fresh after changing an image or a model), scores the rest and writes OUT with
every id of the folder exactly once, in the folder's order.

The programs come from $BICOT_BIN if set, else the bin/ beside this script's
folder (a checkout), else PATH.

Work files (the records as JSON Lines, images in base64) go to a temporary folder
beside OUT, removed at the end.

Exit status: 0 ok, 1 usage, 2 failure (a scorer stopped: what was scored is kept in
OUT.part for the next run), 3 some records failed under --keep-going.

Example:
  pipelines/score-folder.sh samples/ prompts.jsonl scored.msgpack --scorers hps \
      --hps-model /models/HPS_v2.1_compressed.pt \
      --hps-opts '--tokenizer /models/bpe_simple_vocab_16e6.txt' -j 4
EOF
}

die() {
    echo "$prog: $*" >&2
    exit 2
}
usage_error() {
    echo "$prog: $*" >&2
    echo "$prog: see score-folder.sh --help" >&2
    exit 1
}
# q WORD: WORD quoted for sh (the job command line is run by a shell, maybe
# on another host).
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
# abs PATH: an absolute path for an existing file or directory (as is otherwise).
abs() {
    if [ -d "$1" ]; then (cd "$1" && pwd)
    elif [ -e "$1" ]; then printf '%s/%s\n' "$(cd "$(dirname "$1")" && pwd)" "$(basename "$1")"
    else printf '%s\n' "$1"
    fi
}

# ---- options ---------------------------------------------------------------
scorers=hps
hps_model=; vqa_model=; det_model=
hps_opts=; vqa_opts=; det_opts=
jobs=1; hosts=; block=-1; threads=
keep_going=; by=task_type; embed=0; fresh=0; plot=0
dir=; prompts=; out=
need() { [ $# -ge 2 ] || usage_error "$1 needs a value"; }
while [ $# -gt 0 ]; do
    case $1 in
    -h | --help) usage; exit 0 ;;
    --scorers) need "$@"; scorers=$2; shift ;;
    --hps-model) need "$@"; hps_model=$2; shift ;;
    --vqa-model) need "$@"; vqa_model=$2; shift ;;
    --det-model) need "$@"; det_model=$2; shift ;;
    --hps-opts) need "$@"; hps_opts=$2; shift ;;
    --vqa-opts) need "$@"; vqa_opts=$2; shift ;;
    --det-opts) need "$@"; det_opts=$2; shift ;;
    -j | --jobs) need "$@"; jobs=$2; shift ;;
    -S | --sshlogin) need "$@"; hosts=$2; shift ;;
    --block) need "$@"; block=$2; shift ;;
    --threads) need "$@"; threads=$2; shift ;;
    --keep-going) keep_going=--keep-going ;;
    --by) need "$@"; by=$2; shift ;;
    --embed) embed=1 ;;
    --plot) plot=1 ;;
    --fresh) fresh=1 ;;
    -?*) usage_error "unknown option '$1'" ;;
    *)
        if [ -z "$dir" ]; then dir=$1
        elif [ -z "$prompts" ]; then prompts=$1
        elif [ -z "$out" ]; then out=$1
        else usage_error "too many arguments: '$1' (IMAGES_DIR PROMPTS.jsonl OUT.msgpack)"
        fi ;;
    esac
    shift
done
[ -n "$out" ] || usage_error "IMAGES_DIR PROMPTS.jsonl OUT.msgpack are needed"
positive() {  # option value
    case $2 in '' | *[!0-9]*) usage_error "$1: expected a positive integer, got '$2'" ;; esac
    [ "$2" -ge 1 ] || usage_error "$1: expected a positive integer, got '$2'"
}
positive -j "$jobs"
[ -z "$threads" ] || positive --threads "$threads"
[ -d "$dir" ] || die "$dir: not a directory"
[ -f "$prompts" ] || die "$prompts: no such file"

# The programs: $BICOT_BIN if set, the repository's bin/ when this script runs
# from a checkout, else PATH. The jobs name them by absolute path (remote
# hosts need no PATH).
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${BICOT_BIN:-}" ]; then bindir=$(cd "$BICOT_BIN" && pwd) || die "BICOT_BIN=$BICOT_BIN: not a directory"
elif [ -x "$here/../bin/bicot-img" ]; then bindir=$(cd "$here/../bin" && pwd)
else
    p=$(command -v bicot-img) || die "bicot-img not found (build bicot, or put its bin/ on PATH)"
    bindir=$(cd "$(dirname "$p")" && pwd)
fi

# ---- the job: JSON Lines in, scored JSON Lines out --------------------------
# The records travel between jobs as JSON Lines (bicot-json -r: one record a
# line, images as base64, exact round trip) because GNU parallel splits its
# input at line ends: msgpack has no record separator it could split at.
if [ -z "$threads" ]; then
    threads=$(( $(nproc) / jobs ))
    [ "$threads" -ge 1 ] || threads=1
fi
progress=  # the scorers' progress on stderr: their own, except under parallel,
if [ "$jobs" -gt 1 ] || [ -n "$hosts" ]; then  # which holds a job's stderr back until
    progress=--no-progress                     # it ends (parallel --bar shows progress)
fi
cmd="$(q "$bindir/bicot-json")"
keys=
for s in $(echo "$scorers" | tr ',' ' '); do
    case $s in
    hps) model=$hps_model; opts=$hps_opts ;;
    vqa) model=$vqa_model; opts=$vqa_opts ;;
    det) model=$det_model; opts=$det_opts ;;
    *) usage_error "--scorers: unknown scorer '$s' (hps, vqa, det)" ;;
    esac
    [ -n "$model" ] || usage_error "scorer $s needs --$s-model"
    [ -e "$model" ] || die "--$s-model $model: no such file or directory"
    [ -x "$bindir/score-$s" ] || die "scorer $s: $bindir/score-$s does not exist (not built, or not written yet)"
    cmd="$cmd | $(q "$bindir/score-$s") --model $(q "$(abs "$model")") --threads $threads $keep_going $progress $opts"
    keys="$keys${keys:+,}$s"
done
[ -n "$keys" ] || usage_error "--scorers: no scorer chosen"
cmd="$cmd | $(q "$bindir/bicot-json") -r"
if [ "$jobs" -gt 1 ] || [ -n "$hosts" ]; then
    command -v parallel > /dev/null || die "-j/-S need GNU parallel (apt-get install parallel)"
fi

# ---- work files ------------------------------------------------------------
part=$out.part
work=$(mktemp -d "$(dirname "$out")/.score-folder.XXXXXX") || die "cannot create a work folder beside $out"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
[ "$fresh" -eq 1 ] && rm -f "$part"
touch "$part"
# An interrupted run may have left half a line at the end of OUT.part: drop it.
if [ -s "$part" ] && [ "$(tail -c 1 "$part" | od -An -c | tr -d ' ')" != '\n' ]; then
    sed '$d' "$part" > "$work/part" && cat "$work/part" > "$part"
fi
: > "$work/old.jsonl"
if [ "$fresh" -eq 0 ] && [ -f "$out" ]; then
    "$bindir/bicot-json" -r < "$out" > "$work/old.jsonl" || die "$out: not a record stream (--fresh ignores it)"
fi

# 1. the folder -> records, as JSON Lines (exit status through a file: sh has no pipefail)
status=0
{ "$bindir/bicot-img" --strict $keep_going --no-progress "$dir" --prompts "$prompts" || status=$?
  echo $status > "$work/img.rc"; } | "$bindir/bicot-json" -r > "$work/input.jsonl"
status=$(cat "$work/img.rc")
[ "$status" -eq 0 ] || [ "$status" -eq 3 ] || die "bicot-img failed (exit $status)"

# The awk programs read a record's id as its JSON token: `{"id":"..."` starts
# every line (bicot-img writes the id first; tools keep key order), and the
# same writer escapes it the same way in every file. A record is complete when
# its `rewards` map (flat: names to numbers, so no '}' inside) has every key.
awk_lib='
function id_of(line) {
    if (!match(line, /^\{"id":"([^"\\]|\\.)*"/)) {
        printf "%s: %s line %d: expected a record starting with its string id\n", prog, FILENAME, FNR > "/dev/stderr"
        bad_input = 1
        exit 2
    }
    return substr(line, 7, RLENGTH - 6)
}
function complete(line,    r, i) {
    if (!match(line, /"rewards":\{[^}]*\}/)) return 0
    r = substr(line, RSTART, RLENGTH)
    for (i = 1; i <= nkeys; i++) if (!index(r, "\"" key[i] "\":")) return 0
    return 1
}
BEGIN { nkeys = split(keys, key, ",") }
'

# 2. what is left to score: records whose id has no complete result yet
awk -v prog=$prog -v keys="$keys" -v todo="$work/todo.jsonl" -v counts="$work/counts" "$awk_lib"'
pass == 1 { if (complete($0)) done[id_of($0)] = 1; next }
pass == 2 { n++; if (id_of($0) in done) skipped++; else { print > todo; left++ } }
END { if (bad_input) exit 2; printf "%d %d %d\n", n, skipped, left > counts }
' pass=1 "$work/old.jsonl" "$part" pass=2 "$work/input.jsonl"
: >> "$work/todo.jsonl"
read -r n_images n_done n_todo < "$work/counts"
echo "$prog: $n_images images; $n_done already scored ($keys); scoring $n_todo" >&2

# 3. score them, appending to OUT.part as results come back (in order)
if [ "$n_todo" -gt 0 ]; then
    strip='s/,"image":"[A-Za-z0-9+\/=]*","image_path":/,"image_path":/'
    [ "$embed" -eq 1 ] && strip=
    status=0
    if [ "$jobs" -eq 1 ] && [ -z "$hosts" ]; then
        { sh -c "$cmd" < "$work/todo.jsonl" || status=$?; echo $status > "$work/score.rc"; } | sed "$strip" >> "$part"
    else
        set -- --pipe-part -a "$work/todo.jsonl" --block "$block" --keep-order -j "$jobs"
        [ -n "$hosts" ] && set -- "$@" --sshlogin "$hosts" --workdir .
        [ -t 2 ] && set -- "$@" --bar
        { parallel "$@" "$cmd" || status=$?; echo $status > "$work/score.rc"; } | sed "$strip" >> "$part"
    fi
    status=$(cat "$work/score.rc")
    [ "$status" -eq 0 ] || echo "$prog: the scorers exited with status $status" >&2
fi

# 4. OUT: for each id of the folder, in order, its last complete result (or,
# under --keep-going, its last result with errors). Lines are tagged with
# their position and sorted, so no record has to be held in memory.
awk -v prog=$prog -v keys="$keys" -v missing="$work/missing" "$awk_lib"'
pass == 1 { pos[id_of($0)] = FNR; next }
pass == 2 {
    id = id_of($0)
    if (!(id in pos)) next   # an image no longer in the folder
    if (complete($0)) { best[id] = FILENAME SUBSEP FNR; good[id] = 1 }
    else if (!(id in good)) best[id] = FILENAME SUBSEP FNR
    next
}
pass == 3 { id = id_of($0); if (best[id] == FILENAME SUBSEP FNR) print pos[id] "\t" $0 }
END {
    if (bad_input) exit 2
    m = 0; bad = 0
    for (id in pos) { if (!(id in best)) m++; else if (!(id in good)) bad++ }
    printf "%d %d\n", m, bad > missing
}
' pass=1 "$work/input.jsonl" pass=2 "$work/old.jsonl" "$part" pass=3 "$work/old.jsonl" "$part" |
    LC_ALL=C sort -t "$(printf '\t')" -k1,1n | cut -f2- > "$work/out.jsonl"
[ -s "$work/missing" ] || die "cannot merge the results (see above)"
read -r n_missing n_failed < "$work/missing"
[ "$n_missing" -eq 0 ] ||
    die "$n_missing of $n_images records did not come back from the scorers (see their messages above); what was scored is kept in $part: run again to go on"
if [ "$n_failed" -gt 0 ] && [ -z "$keep_going" ]; then
    die "$n_failed records failed (see the messages above); the others are kept in $part: run again to retry, or use --keep-going"
fi

# 5. OUT and its summary, each through a temporary file and a rename
"$bindir/bicot-json" < "$work/out.jsonl" > "$work/out.msgpack" || die "cannot convert the results back to records"
set -- --by "$by"
[ "$plot" -eq 1 ] && set -- "$@" --plot "$work/out.png"
"$bindir/bicot-summary" "$@" < "$work/out.msgpack" > "$work/out.md" || die "bicot-summary failed"
mv -f "$work/out.msgpack" "$out"
mv -f "$work/out.md" "$out.md"
[ "$plot" -eq 1 ] && mv -f "$work/out.png" "$out.png"
rm -f "$part"
cat "$out.md"
if [ "$n_failed" -gt 0 ]; then
    echo "$prog: $n_failed of $n_images records failed (kept with their errors)" >&2
    exit 3
fi
