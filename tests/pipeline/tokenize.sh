#!/bin/sh
# bicot-tokenize on the DeepSeek-shaped and GPT-2-shaped fixtures of
# tests/golden/tokenizer/ (made by tests/golden/make_tokenizers.py). The ids
# below are HF tokenizers' (cases.json holds the same).
. tests/pipeline/lib.sh
ds=tests/golden/tokenizer/deepseek

out=$(printf 'Hello, how are you?\n' | bicot-tokenize --model $ds)
check "$out" = "[1187,1103,11,900,725,661,30]" "encode adds BOS, ids as HF"
out=$(printf 'Hello, how are you?\n' | bicot-tokenize --model $ds/tokenizer.json --no-special)
check "$out" = "[1103,11,900,725,661,30]" "--no-special, model given as the file"
out=$(printf '<|User|>: a red apple\n\n<|Assistant|>:<begin_of_image>\n' | bicot-tokenize --model $ds | head -1)
check "$out" = "[1187,1206,25,243,366,578]" "special tokens in the text are matched whole"
out=$(printf 'Hello, how are you?\n' | bicot-tokenize --model $ds | bicot-tokenize --model $ds --decode --skip-special)
check "$out" = "Hello, how are you?" "decode --skip-special round trip"
out=$(printf '"a\\n b\\t\\u4f60"\n' | bicot-tokenize --model tests/golden/tokenizer/gpt2 --json --no-special |
      bicot-tokenize --model tests/golden/tokenizer/gpt2 --decode --json)
check "$out" = '"a\n b\t你"' "--json text with newlines round trip"
contains "$(bicot-tokenize --model $ds --info)" '"bos":1187,"eos":1188' "--info: bos and eos"
check "$(bicot-tokenize --model $ds --id '<｜▁pad▁｜>')" = 1202 "--id looks a token up"
bicot-tokenize >/dev/null 2>&1; check $? -eq 1 "no --model: usage error"
bicot-tokenize --model "$tmp/none" </dev/null >/dev/null 2>"$tmp/err"; check $? -eq 2 "missing tokenizer: exit 2"
contains "$(cat "$tmp/err")" "$tmp/none" "  the message names the path"
echo 'not json' | bicot-tokenize --model $ds --decode >/dev/null 2>"$tmp/err"; check $? -eq 2 "bad --decode line: exit 2"
contains "$(cat "$tmp/err")" "stdin line 1" "  the message names the line"
finish
