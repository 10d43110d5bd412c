#!/bin/sh
# tests/pipeline/summary.sh: bicot-summary on hand-made scored records whose
# statistics are known: group a has hps 1, 2, 3, 4 (mean 2.5, sample std
# sqrt(5/3) = 1.29099444873580...), group b one value (std undefined).
. tests/pipeline/lib.sh
LC_ALL=C; export LC_ALL

cat > "$tmp/scored.jsonl" <<'JSON'
{"id": "1", "task_type": "b", "group": "g1", "rewards": {"hps": 0.5, "det": 1}}
{"id": "2", "task_type": "a", "group": "g1", "rewards": {"hps": 1.0}}
{"id": "3", "task_type": "a", "group": "g2", "rewards": {"hps": 2, "det": 0.25}}
{"id": "4", "task_type": "a", "group": "g2", "rewards": {"hps": 3.0, "det": 0.75}}
{"id": "5", "task_type": "a", "group": "g2", "rewards": {"hps": 4.0}}
{"id": "6", "task_type": "a", "rewards": {"hps": 100.0}, "errors": [{"tool": "score-det", "message": "bad"}]}
{"id": "7", "rewards": {"det": 0.5}}
{"id": "8", "task_type": "x|y", "prompt": "no rewards at all"}
JSON
bicot-json < "$tmp/scored.jsonl" > "$tmp/scored"

bicot-summary < "$tmp/scored" > "$tmp/md" 2> "$tmp/err"
check $? -eq 0 "exits 0"
check ! -s "$tmp/err" "nothing on stderr"
cat > "$tmp/want" <<'MD'
## Rewards by task_type

8 records, 1 with errors (left out of the statistics). std: sample standard deviation (n-1).

| reward | task_type | n | mean | std |
|---|---|---:|---:|---:|
| hps | a | 4 | 2.5000 | 1.2910 |
| hps | b | 1 | 0.5000 | - |
| hps | **all** | 5 | 2.1000 | 1.4318 |
| det | (none) | 1 | 0.5000 | - |
| det | a | 2 | 0.5000 | 0.3536 |
| det | b | 1 | 1.0000 | - |
| det | **all** | 4 | 0.6250 | 0.3227 |

| task_type | records | with errors |
|---|---:|---:|
| (none) | 1 | 0 |
| a | 5 | 1 |
| b | 1 | 0 |
| x\|y | 1 | 0 |
| **all** | 8 | 1 |
MD
same "$tmp/md" "$tmp/want" "the markdown table: n, mean, sample std per reward and task_type (hand-computed)"

# --json: full precision
bicot-summary --json < "$tmp/scored" | tr -d ' \n' > "$tmp/json"
j=$(cat "$tmp/json")
contains "$j" '{"by":"task_type","records":8,"with_errors":1,"std":"sample","groups":[{"group":"(none)","records":1,"with_errors":0,"rewards":{"det":{"n":1,"mean":0.5,"std":null}}}' \
    "--json: header and the (none) group; std null for n = 1"
contains "$j" '{"group":"a","records":5,"with_errors":1,"rewards":{"hps":{"n":4,"mean":2.5,"std":1.29099444873580' \
    "--json: group a's hps to 15 digits"
contains "$j" '"all":{"records":8,"with_errors":1,"rewards":{"hps":{"n":5,"mean":2.1' "--json: all"

# --by another key
bicot-summary --by group < "$tmp/scored" > "$tmp/md"
contains "$(cat "$tmp/md")" "| hps | g2 | 3 | 3.0000 | 1.0000 |" "--by group"
contains "$(cat "$tmp/md")" "| det | (none) | 1 | 0.5000 | - |" "--by group: records without it in (none)"

# --plot: one panel per reward (hps: a, b, all; det: (none), a, b, all), each
# bar 12 px + 4 px gap, panels 12 px apart: 12 + (3*16+4+12) + (4*16+4+12) = 156 wide;
# title 15 + plot 160 + margin 10 + legend 13 per group (4 + all) = 250 high
bicot-summary --plot "$tmp/plot.png" < "$tmp/scored" > "$tmp/md2"
check $? -eq 0 "--plot exits 0"
same "$tmp/md2" "$tmp/want" "--plot: the same table on stdout"
check "$(od -An -tu1 -j16 -N8 "$tmp/plot.png" | tr -s ' ' | sed 's/^ //')" = "0 0 0 156 0 0 0 250" \
    "--plot: a 156x250 PNG (its IHDR)"

# bad records
printf '%s\n' '{"id": "ok", "task_type": "a", "rewards": {"hps": 1.0}}' '{"id": "s", "rewards": {"hps": "high"}}' \
    '{"id": "t", "task_type": ["a"], "rewards": {"hps": 2.0}}' | bicot-json > "$tmp/bad"
bicot-summary < "$tmp/bad" > "$tmp/md" 2> "$tmp/err"
check $? -eq 2 "a reward that is not a number: exit 2"
contains "$(cat "$tmp/err")" "record 1 (id \"s\"): key 'rewards.hps': expected a number, got str" "naming the record and key"
check ! -s "$tmp/md" "and no table"
bicot-summary --keep-going < "$tmp/bad" > "$tmp/md" 2> "$tmp/err"
check $? -eq 3 "--keep-going: exit 3"
contains "$(cat "$tmp/err")" "record 2 (id \"t\"): key 'task_type': expected a string or integer to group by, got array" \
    "a group key of another type: named"
contains "$(cat "$tmp/md")" "| hps | **all** | 1 | 1.0000 | - |" "--keep-going: the table of the good records"

# no records
bicot-summary < /dev/null > "$tmp/md"
check $? -eq 0 "no records: exit 0"
contains "$(cat "$tmp/md")" "0 records, 0 with errors" "no records: says so"
contains "$(cat "$tmp/md")" "No rewards in the records." "and that there are no rewards"

printf 'garbage' | bicot-summary > /dev/null 2>&1
check $? -eq 2 "a broken stream: exit 2"
bicot-summary extra < /dev/null > /dev/null 2>&1
check $? -eq 1 "an argument: usage error"
bicot-summary --help | grep -q Example
check $? -eq 0 "--help has an example"
finish
