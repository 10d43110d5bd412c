"""Golden fixtures for lib/text/clip_tokenizer.c.

Reference: open_clip's SimpleTokenizer (the tokenizer HPSv2 runs) and
transformers' CLIPTokenizer (PickScore's), on a vocabulary reduced to the
first N_MERGES merges of open_clip's bpe_simple_vocab_16e6.txt.gz: a merges
prefix is still exactly the same algorithm, and keeps the fixture small.

Writes tests/golden/clip_tokenizer/:
  bpe_simple_vocab_reduced.txt   open_clip's merges file, first N_MERGES merges, uncompressed
  hf/vocab.json, hf/merges.txt   the same vocabulary in transformers' CLIPTokenizer layout
  cases.json                     {"openclip": [{"text", "ids", "n_real"}], "hf": [...]}: ids padded to
                                 77; n_real: the count before the padding

Run from the repository root: python3 tests/golden/make_clip_tokenizer.py
(needs open_clip_torch's tokenizer.py, ftfy, regex, transformers, tokenizers).
"""
import gzip, html, importlib.util, json, os, sys, tempfile, unicodedata

import ftfy

N_MERGES = 3000
OUT = "tests/golden/clip_tokenizer"

spec = importlib.util.find_spec("open_clip")
oc_dir = os.path.dirname(spec.origin)
# Import open_clip/tokenizer.py alone: the package __init__ needs torchvision.
ts = importlib.util.spec_from_file_location("oc_tokenizer", os.path.join(oc_dir, "tokenizer.py"))
oc = importlib.util.module_from_spec(ts)
ts.loader.exec_module(oc)

lines = gzip.open(os.path.join(oc_dir, "bpe_simple_vocab_16e6.txt.gz")).read().decode("utf-8").split("\n")
reduced = "\n".join(lines[: 1 + N_MERGES]) + "\n"
os.makedirs(OUT + "/hf", exist_ok=True)
with open(OUT + "/bpe_simple_vocab_reduced.txt", "w", encoding="utf-8") as f:
    f.write(reduced)
tmp = tempfile.mkdtemp()
gz = os.path.join(tmp, "bpe_reduced.txt.gz")
with gzip.open(gz, "wb") as f:
    f.write(reduced.encode("utf-8"))
octok = oc.SimpleTokenizer(bpe_path=gz)

# HF layout: the same ids, special tokens under the names OpenAI's vocab.json uses.
vocab = {}
for k, v in octok.encoder.items():
    k = {"<start_of_text>": "<|startoftext|>", "<end_of_text>": "<|endoftext|>"}.get(k, k)
    vocab[k] = v
with open(OUT + "/hf/vocab.json", "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False)
with open(OUT + "/hf/merges.txt", "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "\n".join(lines[1 : 1 + N_MERGES]) + "\n")
from transformers import CLIPTokenizer
hftok = CLIPTokenizer.from_pretrained(OUT + "/hf")

prompts = [json.loads(l)["prompt"] for l in open("tests/golden/streams/t2i-r1-prompts-head.jsonl", encoding="utf-8")]
extra = [
    "", "   ", "A &amp; B", "&quot;quoted&quot; text", "it&#39;s a dog&#x27;s life", "x &lt; y &gt; z",
    "&amp;amp; double", "&nbsp;non breaking&nbsp;", "&unknown; entity &amp", "Mixed CASE Words",
    "Élan café naïve über Ünter ÀÉÎÕÜ", "ÆØÅ æøå ß ẞ", "Ελληνικά ΟΔΟΣ λόγος", "Русский ТЕКСТ",
    "µ and ſ", "digits 1234567890 and 3.14159", "punct!!! ??? ... ,,, ;:-- (x) [y] {z}",
    "it's they're we've I'm you'll he'd don't IT'S", "'s 't 're", "extra    whitespace\t\tand\nnewlines  ",
    "  leading and trailing  ", "emoji 🐱🐶 and 中文字符 and 日本語", "tab\tsep", "a" * 300,
    " ".join(["word"] * 100), "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "<start_of_text> special <end_of_text>", "!<start_of_text>x", "&eacute;t&eacute; &copy; &#233;&#xE9; &#128049;", "ΣΊΣΥΦΟΣ ΌΣΟΣ",
    "&notit; &#0; &#x110000; &#128; &#150; &AMP; &Amp; &#x20;gap &#xd800; &ampx &#; &#x;", "İstanbul Ⓐ Ꭰ ꭰ ᾈ", "ǅ K Ω",
    "ΣΑΣ. Σ ΑΣ' ΑΣ́ ΑΣ1 ΑΣΣ", "x\x1cy\u2028z\u00a0w", "mojibake-free: naïve façade ½ ™ © ®", "<|startoftext|> hf special <|endoftext|>",
    "hello!world", "e-mail: someone@example.com", "100% #1 $5 ^_^",
]
cases_oc, cases_hf, left_oc, left_hf = [], [], [], []
for t in prompts + extra:
    # Our cleaning has no ftfy: keep only strings where ftfy changes nothing
    # that html.unescape would not change anyway (ftfy unescapes entities too).
    if html.unescape(html.unescape(ftfy.fix_text(t))) != html.unescape(html.unescape(t)):
        left_oc.append(t)
    else:
        cases_oc.append({"text": t, "ids": [int(x) for x in octok([t], context_length=77)[0].tolist()],
                         "n_real": min(77, len(octok.encode(t)) + 2)})
    if unicodedata.normalize("NFC", t) != t:
        left_hf.append(t)
    else:
        ids = hftok(t, padding="max_length", truncation=True, max_length=77)["input_ids"]
        n_real = len(hftok(t, truncation=True, max_length=77)["input_ids"])
        cases_hf.append({"text": t, "ids": ids, "n_real": n_real})
def lines(cases):  # one case a line, compact
    return ",\n".join(json.dumps(c, ensure_ascii=False, separators=(",", ":")) for c in cases)
with open(OUT + "/cases.json", "w", encoding="utf-8") as f:
    f.write('{"n_merges": %d, "hf_pad_id": %d,\n"openclip": [\n%s],\n"hf": [\n%s]}\n'
            % (N_MERGES, hftok.pad_token_id, lines(cases_oc), lines(cases_hf)))
print(len(cases_oc), "open_clip cases,", len(cases_hf), "hf cases; left out (ftfy changes):", left_oc,
      "(NFC changes):", left_hf, file=sys.stderr)
