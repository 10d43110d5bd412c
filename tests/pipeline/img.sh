#!/bin/sh
# tests/pipeline/img.sh: bicot-img both ways, through the real programs.
# Run from the repository root with bin/ on PATH (tests/run.sh does that).
# Records are inspected as JSON Lines through `bicot-json -r --brief`.
IMG=tests/golden/images
LC_ALL=C; export LC_ALL   # ls order in the checks below
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
n=0
check() {  # status, description
    n=$((n + 1))
    if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
}
same() {  # got, want, description
    if [ "$1" = "$2" ]; then check 0 "$3"; else check 1 "$3"; printf '#   got:  %s\n#   want: %s\n' "$1" "$2"; fi
}
contains() {  # file, substring, description
    if grep -qF -- "$2" "$1"; then check 0 "$3"; else check 1 "$3"; sed 's/^/#   /' "$1"; fi
}

# --- a folder of PNGs and JPEGs -------------------------------------------
mkdir "$T/in"
cp "$IMG/rgb8.png" "$T/in/0.png"
cp "$IMG/rgba16.png" "$T/in/1#0.png"
cp "$IMG/interlace_rgb8.png" "$T/in/1_1.PNG"
cp "$IMG/rgb420.jpg" "$T/in/2.jpg"
cp "$IMG/gray.jpg" "$T/in/nop.jpeg"
echo "not an image" > "$T/in/readme.txt"
mkdir "$T/in/sub.png"   # a directory named like an image: ignored

bicot-img "$T/in" > "$T/recs" 2> "$T/err"
check $? "folder -> records exits 0"
bicot-json -r --brief < "$T/recs" > "$T/recs.json"
same "$(cut -d, -f1 "$T/recs.json" | tr '\n' ' ')" '{"id":"0" {"id":"1#0" {"id":"1_1" {"id":"2" {"id":"nop" ' \
    "one record per image, sorted by name, others ignored"
same "$(sed -n 1p "$T/recs.json")" "{\"id\":\"0\",\"image\":{\"bytes\":190},\"image_path\":\"$T/in/0.png\"}" \
    "record keys: id, image, image_path"

bicot-img -r "$T/out" < "$T/recs" > "$T/stdout" 2> "$T/err"
check $? "records -> folder exits 0"
same "$(wc -c < "$T/stdout" | tr -d ' ')" 0 "-r writes nothing to stdout without --tee"
for f in 0.png '1#0.png' 1_1.PNG; do
    cmp -s "$T/in/$f" "$T/out/${f%.*}.png"
    check $? "$f comes back byte-identical"
done
bicot-img "$T/out" > "$T/recs2" 2> "$T/err"
bicot-json -r --brief < "$T/recs2" | grep '"id":"2"' > "$T/jpeg.json"
contains "$T/jpeg.json" '"image_path":"'"$T/out/2.png"'"' "a JPEG's PNG re-reads as a PNG"
same "$(ls "$T/out" | tr '\n' ' ')" "0.png 1#0.png 1_1.png 2.png index.jsonl nop.png " "the folder holds every PNG and index.jsonl"
same "$(sed -n 2p "$T/out/index.jsonl")" "{\"id\":\"1#0\",\"image_path\":\"$T/out/1#0.png\"}" \
    "index.jsonl: every key but image, image_path pointing at the new file"
same "$(wc -l < "$T/out/index.jsonl" | tr -d ' ')" 5 "index.jsonl has a line per record"
ls "$T/out" | grep -q '\.tmp' ; [ $? -ne 0 ]
check $? "no temporary files left behind"

# --tee passes the records on with image_path set, and --index moves the index
bicot-img -r "$T/out2/deeper" --tee --index "$T/idx.jsonl" < "$T/recs" 2> "$T/err" | bicot-json -r --brief > "$T/tee.json"
check $? "-r --tee into a new nested folder exits 0"
same "$(sed -n 1p "$T/tee.json")" "{\"id\":\"0\",\"image\":{\"bytes\":190},\"image_path\":\"$T/out2/deeper/0.png\"}" \
    "--tee: records pass with image_path replaced"
[ -f "$T/idx.jsonl" ] && [ ! -f "$T/out2/deeper/index.jsonl" ]
check $? "--index FILE writes the index there"

# --zstd output reads back
bicot-img --zstd "$T/in" > "$T/recs.zst" 2> "$T/err" && bicot-json -r --brief < "$T/recs.zst" > "$T/zst.json"
check $? "--zstd output reads back"
cmp -s "$T/zst.json" "$T/recs.json"
check $? "--zstd gives the same records"

# --- prompts ----------------------------------------------------------------
cat > "$T/prompts.jsonl" <<'EOF'
{"prompt": "a photo of a cat", "nouns": ["cat"], "task_type": "object"}

{"prompt": "a photo of four coasters", "nouns": ["coaster"], "numeracy_info": [{"obj_name": "coaster", "num": 4}], "task_type": "numeracy"}
{"id": 2, "prompt": "a red car", "nouns": ["car"], "attr_nouns": ["red car"], "task_type": "color"}
{"id": "unused", "prompt": "no image for me", "nouns": ["x"]}
EOF
bicot-img "$T/in" --prompts "$T/prompts.jsonl" 2> "$T/err" | bicot-json -r --brief > "$T/p.json"
check $? "--prompts exits 0"
same "$(sed -n 1p "$T/p.json")" \
    "{\"id\":\"0\",\"prompt\":\"a photo of a cat\",\"nouns\":[\"cat\"],\"task_type\":\"object\",\"image\":{\"bytes\":190},\"image_path\":\"$T/in/0.png\"}" \
    "0.png joins prompt line 0, keys after id in the prompt's order"
same "$(sed -n 2p "$T/p.json" | cut -d, -f1-3)" '{"id":"1#0","prompt":"a photo of four coasters","nouns":["coaster"]' \
    "1#0.png joins line 1 (blank lines not counted)"
contains "$T/p.json" '"id":"1_1","prompt":"a photo of four coasters"' "1_1.PNG joins prompt 1 too"
contains "$T/p.json" '"task_type":"numeracy","group":"1","image"' "a sample joined by its suffix gets group"
contains "$T/p.json" '{"id":"2","prompt":"a red car"' "an integer prompt id joins 2.jpg"
same "$(grep '"id":"nop"' "$T/p.json" | cut -d, -f2 | cut -c1-8)" '"image":' "an image with no prompt passes without prompt keys"
contains "$T/err" "1 of 5 images had no prompt" "a warning counts images without a prompt"
contains "$T/err" "1 of 4 prompts in $T/prompts.jsonl had no image" "a warning counts prompts without an image"

bicot-img "$T/in" --prompts "$T/prompts.jsonl" --strict > "$T/strict" 2> "$T/err"
same $? 2 "--strict: an image with no prompt exits 2"
contains "$T/err" 'record 4 (id "nop"): '"$T/in/nop.jpeg"': no prompt with id "nop"' "--strict names the image"

# --- errors -----------------------------------------------------------------
mkdir "$T/bad"
cp "$IMG/rgb8.png" "$T/bad/a.png"
cp "$IMG/badcrc.png" "$T/bad/b.png"
cp "$IMG/gray.jpg" "$T/bad/c.jpg"
bicot-img "$T/bad" > "$T/bad.recs" 2> "$T/err"
same $? 2 "a corrupt image exits 2"
contains "$T/err" "record 1 (id \"b\"): $T/bad/b.png: PNG: IDAT: CRC error" "the message names the file and the problem"
same "$(bicot-json -r --brief < "$T/bad.recs" | cut -d, -f1 | tr '\n' ' ')" '{"id":"a" {"id":"b" ' \
    "records before the bad one are written, and the bad one with its error; nothing after"

bicot-img --keep-going "$T/bad" 2> "$T/err" | bicot-json -r --brief > "$T/kg.json"
bicot-img --keep-going "$T/bad" > /dev/null 2>&1
same $? 3 "--keep-going: exits 3"
same "$(sed -n 2p "$T/kg.json")" \
    "{\"id\":\"b\",\"image_path\":\"$T/bad/b.png\",\"errors\":[{\"tool\":\"bicot-img\",\"message\":\"$T/bad/b.png: PNG: IDAT: CRC error\"}]}" \
    "--keep-going: the bad record carries errors and no image"
same "$(wc -l < "$T/kg.json" | tr -d ' ')" 3 "--keep-going: processing continues"

cp "$IMG/rgb8.png" "$T/bad/c.png"
rm "$T/bad/b.png"
bicot-img "$T/bad" > /dev/null 2> "$T/err"
same $? 2 "two files with one id exit 2"
contains "$T/err" "c.jpg and c.png both give the id \"c\"" "the message names both files"

bicot-img "$T/nowhere" > /dev/null 2> "$T/err"
same $? 2 "a missing folder exits 2"
bicot-img > /dev/null 2> "$T/err"
same $? 1 "no folder is a usage error"

# --- reverse: ids, records without image, bad images -------------------------
b64=$(base64 < "$IMG/rgb8.png" | tr -d '\n')
{
    echo "{\"id\":\"../up/x\",\"image\":\"$b64\"}"
    echo '{"id":"noimg","prompt":"p"}'
    echo "{\"image\":\"$b64\",\"prompt\":\"no id\"}"
} | bicot-json --no-id > "$T/rev.recs"
bicot-img -r "$T/rev" < "$T/rev.recs" 2> "$T/err"
check $? "-r: odd ids and a record without image exit 0"
same "$(ls "$T/rev" | tr '\n' ' ')" "2.png ___up_x.png index.jsonl " "ids sanitised; a record without id is named by its position"
contains "$T/rev/index.jsonl" '{"id":"noimg","prompt":"p"}' "a record without image is listed, without image_path"
cmp -s "$IMG/rgb8.png" "$T/rev/___up_x.png"
check $? "-r writes the image bytes unchanged"

{
    echo "{\"id\":\"a\",\"image\":\"$b64\"}"
    echo '{"id":"b","image":"bm90IGEgcG5n"}'
    echo "{\"id\":\"c\",\"image\":\"$b64\"}"
} | bicot-json --bin none > "$T/revbad.recs"   # image stays a string
bicot-img -r "$T/revbad" < "$T/revbad.recs" 2> "$T/err"
same $? 2 "-r: a non-PNG image exits 2"
contains "$T/err" 'record 0 (id "a"): key '"'image'"': expected bin, got str' "-r: the message names the record and the key"
{
    echo "{\"id\":\"a\",\"image\":\"$b64\"}"
    echo '{"id":"b","image":"bm90IGEgcG5n"}'
    echo "{\"id\":\"c\",\"image\":\"$b64\"}"
} | bicot-json > "$T/revbad.recs"
bicot-img -r "$T/revbad2" --keep-going < "$T/revbad.recs" 2> "$T/err"
same $? 3 "-r --keep-going: exits 3"
contains "$T/err" 'record 1 (id "b"): key '"'image'"': expected PNG bytes' "-r: not-PNG bytes are named"
same "$(ls "$T/revbad2" | tr '\n' ' ')" "a.png c.png index.jsonl " "-r --keep-going: the good records are written"
contains "$T/revbad2/index.jsonl" '{"id":"b","errors":[{"tool":"bicot-img","message":"key '"'image'"': expected PNG bytes' \
    "-r --keep-going: the bad record is listed with its errors"
