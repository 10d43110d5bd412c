#!/bin/sh
# tests/pipeline/score-folder.sh: pipelines/score-folder.sh on a folder of
# small PNGs (tests/golden/images) scored by score-hps with the tiny random
# CLIP of tests/golden/tiny-clip: order, every id once, -j/-S through GNU
# parallel giving the same bytes, resuming (which ids get scored again is
# seen through a wrapper around score-hps), failures, and the summary's
# numbers against a computation in awk.
. tests/pipeline/lib.sh
LC_ALL=C; export LC_ALL
SF=pipelines/score-folder.sh
CLIP=tests/golden/tiny-clip
IMG=tests/golden/images

# the folder: 7 images; sample names p1#k / p2_k join prompts p1 / p2, 4.png
# joins the prompt line without an id (the 5th line: id "4")
mkdir "$tmp/img"
cp $IMG/rgb8.png "$tmp/img/p0.png"
cp $IMG/gray8.png "$tmp/img/p1#0.png"
cp $IMG/rgba16.png "$tmp/img/p1#1.png"
cp $IMG/interlace_rgb8.png "$tmp/img/p2_0.png"
cp $IMG/gray_alpha8.png "$tmp/img/p2_1.png"
cp $IMG/palette8.png "$tmp/img/p3.png"
cp $IMG/gray16.png "$tmp/img/4.png"
cat > "$tmp/prompts.jsonl" <<'JSON'
{"id": "p0", "task_type": "spatial", "prompt": "a red cube on a blue ball"}
{"id": "p1", "task_type": "numeracy", "prompt": "two cats"}
{"id": "p2", "task_type": "spatial", "prompt": "a dog on the left of a tree"}
{"id": "p3", "prompt": "a prompt without a task type"}
{"task_type": "complex", "prompt": "a lamp | with \"quotes\""}
JSON
ids='4 p0 p1#0 p1#1 p2_0 p2_1 p3 '
ids_of() { bicot-json -r --brief < "$1" | sed 's/^{"id":"\([^"]*\)".*/\1/' | tr '\n' ' '; }

# a bin folder whose score-hps logs the records it is given (one file per
# run, since parallel runs several at once); with FAIL_AFTER=K it scores the
# first K records and stops with exit 2, as a scorer that fails would
mkdir "$tmp/bin" "$tmp/seen"
for p in bin/*; do [ -x "$p" ] && [ -f "$p" ] && ln -s "$(pwd)/$p" "$tmp/bin/"; done
rm "$tmp/bin/score-hps" "$tmp/bin/score-vqa" 2>/dev/null
cat > "$tmp/bin/score-hps" <<EOF
#!/bin/sh
if [ -n "\${FAIL_AFTER:-}" ]; then
    bicot-json -r | head -n "\$FAIL_AFTER" | bicot-json | tee "$tmp/seen/\$\$" | "$(pwd)/bin/score-hps" "\$@"
    echo "score-hps: (test) stopped" >&2
    exit 2
fi
tee "$tmp/seen/\$\$" | exec "$(pwd)/bin/score-hps" "\$@"
EOF
chmod +x "$tmp/bin/score-hps"
seen() { cat "$tmp/seen"/* 2>/dev/null | bicot-json -r --brief | sed 's/^{"id":"\([^"]*\)".*/\1/' | sort | tr '\n' ' '; }
runs() { ls "$tmp/seen" | wc -l; }
clear_seen() { rm -f "$tmp/seen"/*; }
export BICOT_BIN="$tmp/bin"

# --- one job ----------------------------------------------------------------
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/out1" --hps-model $CLIP > "$tmp/stdout" 2> "$tmp/err"
check $? -eq 0 "score-folder exits 0"
check "$(ids_of "$tmp/out1")" = "$ids" "every image once, in the folder's order (file names in byte order)"
same "$tmp/stdout" "$tmp/out1.md" "the summary goes to OUT.md and stdout"
check ! -e "$tmp/out1.part" "no OUT.part left after a complete run"
check "$(ls -a "$tmp" | grep -c score-folder)" -eq 0 "the work folder is removed"
bicot-json -r --brief < "$tmp/out1" > "$tmp/out1.json"
check "$(grep -c '"rewards":{"hps":' "$tmp/out1.json")" -eq 7 "every record has rewards.hps"
check "$(grep -c '"image"' "$tmp/out1.json")" -eq 0 "no PNG bytes in OUT by default"
contains "$(sed -n 1p "$tmp/out1.json")" \
    "{\"id\":\"4\",\"task_type\":\"complex\",\"prompt\":\"a lamp | with \\\"quotes\\\"\",\"image_path\":\"$tmp/img/4.png\",\"rewards\":{\"hps\":" \
    "a prompt line without an id joins by position; keys in order; image_path kept"
contains "$(cat "$tmp/out1.json")" '{"id":"p1#1","task_type":"numeracy","prompt":"two cats","group":"p1",' \
    "samples p1#k join prompt p1 and get group p1"
check "$(seen)" = "4 p0 p1#0 p1#1 p2_0 p2_1 p3 " "the scorer saw each record once"
bicot-validate -q schemas/scored.json < "$tmp/out1"
check $? -eq 0 "OUT validates against schemas/scored.json"

# the same scores as score-hps straight on bicot-img's records
bicot-img "$tmp/img" --prompts "$tmp/prompts.jsonl" | bin/score-hps --model $CLIP | bicot-json -r --brief \
    | sed 's/.*"hps":\([^}]*\)}.*/\1/' > "$tmp/direct"
sed 's/.*"hps":\([^}]*\)}.*/\1/' "$tmp/out1.json" > "$tmp/via"
same "$tmp/via" "$tmp/direct" "rewards equal score-hps's own output (the JSON Lines round trip is exact)"

# --embed keeps the PNG bytes: they equal the files
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/emb" --hps-model $CLIP --embed --plot > /dev/null 2>&1
check $? -eq 0 "--embed --plot exits 0"
check -s "$tmp/emb.png" "--plot: OUT.png written"
bicot-img -r "$tmp/back" < "$tmp/emb" 2> /dev/null
same "$tmp/back/p1#1.png" "$tmp/img/p1#1.png" "--embed: OUT carries the image bytes unchanged"
check "$(bicot-json -r --brief < "$tmp/emb" | sed 's/,"image":{"bytes":[0-9]*}//' | bicot-json | cmp - "$tmp/out1" && echo same)" = same \
    "--embed: otherwise the same records"

# --- the summary's numbers against awk ------------------------------------------
# group (task_type or "(none)") and hps of each record -> n, mean, sample std
sed -e 's/^\(.*\)"task_type":"\([^"]*\)".*"hps":\([^}]*\)}.*/\2 \3/' -e 's/^{.*"hps":\([^}]*\)}.*/(none) \1/' \
    "$tmp/out1.json" | sort > "$tmp/pairs"
awk '{ v[$1, ++n[$1]] = $2; s[$1] += $2; all[++N] = $2; S += $2 }
     function row(name, k, m, ss) { return sprintf("| hps | %s | %d | %.4f | %s |", name, k, m, k > 1 ? sprintf("%.4f", sqrt(ss / (k - 1))) : "-") }
     END {
         for (g in n) { m = s[g] / n[g]; ss = 0; for (i = 1; i <= n[g]; i++) ss += (v[g, i] - m) ^ 2; out[g] = row(g, n[g], m, ss) }
         M = S / N; SS = 0; for (i = 1; i <= N; i++) SS += (all[i] - M) ^ 2
         for (g in out) print out[g] | "sort"; close("sort")
         print row("**all**", N, M, SS)
     }' "$tmp/pairs" > "$tmp/want"
grep '^| hps |' "$tmp/out1.md" > "$tmp/got"
same "$tmp/got" "$tmp/want" "summary rows (n, mean, sample std per task_type and all) equal awk's"
contains "$(cat "$tmp/out1.md")" "| (none) | 1 | 0 |" "a record without task_type counts in (none)"

# --- several jobs through GNU parallel ------------------------------------------
if command -v parallel > /dev/null 2>&1; then
    clear_seen
    sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/out2" --hps-model $CLIP -j 2 > /dev/null 2> "$tmp/err"
    check $? -eq 0 "-j 2 exits 0"
    same "$tmp/out2" "$tmp/out1" "-j 2: OUT byte-identical to -j 1"
    same "$tmp/out2.md" "$tmp/out1.md" "-j 2: the same summary"
    check "$(runs)" -ge 2 "-j 2: the records were split over 2 scorer runs"
    check "$(seen)" = "4 p0 p1#0 p1#1 p2_0 p2_1 p3 " "-j 2: each record scored once, none lost"
    clear_seen
    sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/out3" --hps-model $CLIP -j 3 --block -2 -S : > /dev/null 2> "$tmp/err"
    check $? -eq 0 "-S : (this host through --sshlogin), -j 3, 2 blocks a slot: exits 0"
    same "$tmp/out3" "$tmp/out1" "-S : -j 3: OUT byte-identical"
    check "$(runs)" -ge 4 "-S : -j 3 --block -2: the records were split over several runs"
else
    echo "ok - # SKIP GNU parallel not installed: -j/-S not tested"
fi

# --- resuming ----------------------------------------------------------------
# records deleted from OUT are scored again, and only they
cp "$tmp/out1" "$tmp/res"
bicot-json -r < "$tmp/out1" | grep -v -e '^{"id":"p1#1"' -e '^{"id":"p3"' | bicot-json > "$tmp/res"
check "$(ids_of "$tmp/res")" = "4 p0 p1#0 p2_0 p2_1 " "(2 records deleted from OUT)"
clear_seen
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/res" --hps-model $CLIP > /dev/null 2> "$tmp/err"
check $? -eq 0 "resume exits 0"
check "$(seen)" = "p1#1 p3 " "resume: only the 2 missing records are scored"
contains "$(cat "$tmp/err")" "7 images; 5 already scored (hps); scoring 2" "resume: says so"
same "$tmp/res" "$tmp/out1" "resume: OUT byte-identical to a run from scratch"

# an interrupted run: no OUT, OUT.part with 3 results and half a line
rm -f "$tmp/res" "$tmp/res.md"
bicot-json -r < "$tmp/out1" | sed -n '2,4p' > "$tmp/res.part"
bicot-json -r < "$tmp/out1" | sed -n 5p | head -c 40 >> "$tmp/res.part"
clear_seen
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/res" --hps-model $CLIP > /dev/null 2> "$tmp/err"
check $? -eq 0 "resume from OUT.part exits 0"
check "$(seen)" = "4 p2_0 p2_1 p3 " "resume from OUT.part: the 3 results in it are kept, half a line is dropped"
same "$tmp/res" "$tmp/out1" "resume from OUT.part: OUT byte-identical"
check ! -e "$tmp/res.part" "OUT.part removed once OUT is written"

# a scorer that stops after 2 records: exit 2, no OUT, the 2 kept for the next run
rm -f "$tmp/res" "$tmp/res.md"
clear_seen
FAIL_AFTER=2 sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/res" --hps-model $CLIP > /dev/null 2> "$tmp/err"
check $? -eq 2 "a scorer that stops: exit 2"
contains "$(cat "$tmp/err")" "5 of 7 records did not come back from the scorers" "saying how many records are missing"
check ! -e "$tmp/res" -a "$(wc -l < "$tmp/res.part")" -eq 2 "no OUT; the 2 scored records are in OUT.part"
clear_seen
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/res" --hps-model $CLIP > /dev/null 2> "$tmp/err"
check "$(seen)" = "p1#0 p1#1 p2_0 p2_1 p3 " "the next run scores the other 5"
same "$tmp/res" "$tmp/out1" "and OUT is byte-identical to an uninterrupted run"

# nothing left to do: no scorer runs, OUT unchanged; --fresh scores everything
clear_seen
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/res" --hps-model $CLIP > /dev/null 2>&1
check "$(runs)" -eq 0 "all scored: the scorer does not run"
same "$tmp/res" "$tmp/out1" "all scored: OUT unchanged"
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/res" --hps-model $CLIP --fresh > /dev/null 2>&1
check "$(seen)" = "4 p0 p1#0 p1#1 p2_0 p2_1 p3 " "--fresh: everything scored again"

# --- failures ----------------------------------------------------------------
cp "$tmp/out1" "$tmp/keep"
cp $IMG/rgb16.png "$tmp/img/zz.png"   # an image with no prompt
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/keep" --hps-model $CLIP > /dev/null 2> "$tmp/err"
check $? -eq 2 "an image without a prompt: exit 2"
contains "$(cat "$tmp/err")" 'no prompt with id "zz"' "naming it"
same "$tmp/keep" "$tmp/out1" "a failed run leaves OUT as it was"
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/keep" --hps-model $CLIP --keep-going > "$tmp/stdout" 2> "$tmp/err"
check $? -eq 3 "--keep-going: exit 3"
check "$(ids_of "$tmp/keep")" = "${ids}zz " "--keep-going: the failed record is kept, in its place"
contains "$(bicot-json -r --brief < "$tmp/keep" | tail -1)" '"errors":[{"tool":"bicot-img"' "with its errors"
contains "$(cat "$tmp/stdout")" "8 records, 1 with errors" "the summary counts it apart"
grep '^| hps |' "$tmp/keep.md" > "$tmp/got"
same "$tmp/got" "$tmp/want" "and leaves it out of the statistics"
rm "$tmp/img/zz.png"

sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/x" --scorers hps,vqa --hps-model $CLIP --vqa-model $CLIP > /dev/null 2> "$tmp/err"
check $? -eq 2 "a scorer that is not built: exit 2"
contains "$(cat "$tmp/err")" "scorer vqa: $tmp/bin/score-vqa does not exist" "naming it"
check ! -e "$tmp/x" "and writing nothing"
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/x" > /dev/null 2> "$tmp/err"
check $? -eq 1 "no --hps-model: usage error"
contains "$(cat "$tmp/err")" "scorer hps needs --hps-model" "saying what is missing"
sh $SF "$tmp/img" "$tmp/prompts.jsonl" > /dev/null 2>&1
check $? -eq 1 "no OUT: usage error"
sh $SF "$tmp/img" "$tmp/prompts.jsonl" "$tmp/x" --hps-model $CLIP -j 0 > /dev/null 2>&1
check $? -eq 1 "-j 0: usage error"
sh $SF --help | grep -q "Example"
check $? -eq 0 "--help has an example"
finish
