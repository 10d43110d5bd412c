#!/usr/bin/env python3
"""Golden fixtures for lib/text/text_clean.c and its use in lib/text/clip_tokenizer.c.

References: ftfy.fix_text (default config), Python's html.unescape,
open_clip's whitespace_clean(basic_clean(text)) (its tokenizer.py, executed
alone: the package needs torchvision), unicodedata2 16.0.0's NFC; for token
ids open_clip's SimpleTokenizer and transformers' CLIPTokenizer on the reduced
vocabulary of tests/golden/clip_tokenizer/ (make_clip_tokenizer.py).

Writes tests/golden/text_clean/cases.json: {"cases": [{"text", "ftfy", "html",
"nfc", "clean", "skip", "oc_ids", "hf_ids"}]}; skip: why the ftfy / clean
values are not ours to match ("mojibake": ftfy's fix_encoding, which we leave
out, changes the result; "unicode14": Python's Unicode 14.0 NFC differs from
16.0.0 here), else "". The ids are unpadded (SOT .. EOT, cut to 77); oc_ids is
absent for skipped cases.

Run from the repository root: python3 tests/golden/make_text_clean.py
"""
import gzip, html, importlib.util, json, os, random, sys, tempfile, unicodedata

import ftfy
import unicodedata2

OUT = "tests/golden/text_clean"
VOCAB = "tests/golden/clip_tokenizer"
PROMPTS = "/work/shared/data/t2i-r1-train-prompts.jsonl"

spec = importlib.util.find_spec("open_clip")
ts = importlib.util.spec_from_file_location("oc_tokenizer", os.path.join(os.path.dirname(spec.origin), "tokenizer.py"))
oc = importlib.util.module_from_spec(ts)
ts.loader.exec_module(oc)

ESC = "\x1b"
HAND = [
    # curly quotes, primes, apostrophes
    "\u201cquoted\u201d and \u2018single\u2019 it\u2019s", "\u201esnap\u201f \u201a\u201b \u02bcokina", "\u00abguillemets\u00bb \u2039x\u203a",
    "\u2032prime\u2033 \u300ccjk quotes\u300d",
    # ligatures and digraphs
    "\ufb01sh \ufb02ower o\ufb03ce wa\ufb04e \ufb00 \ufb05 \ufb06", "\u0132sselmeer \u0133s \u0149 \u01c4 \u01c5 \u01c6 \u01c7 \u01c8 \u01c9 \u01ca \u01cb \u01cc \u01f1 \u01f2 \u01f3",
    "\u00e6 \u0153 \u00df kept",
    # width
    "\uff21\uff22\uff23 \uff41\uff42\uff43 \uff10\uff11\uff12\uff01\uff1f", "\uff2c\uff2f\uff35\uff24\u3000\uff2e\uff2f\uff29\uff33\uff25\uff33",
    "\uff35\uff80\uff70\uff9d \uff76\uff9e \uffa1\uffa4 \uffe0\uffe1\uffe3\uffe5\uffe6 \uffe8\uffee", "\uff02fullwidth quote\uff02 \uff07x\uff07 \uff3b\uff3d\uff5b\uff5d",
    # html entities
    "A &amp; B", "&lt;tag&gt;", "&lt;b&gt;bold&lt;/b&gt; <i>", "it&#39;s a dog&#x27;s life", "caf&eacute; na&iuml;ve",
    "&amp;amp; nested &amp;amp;amp;lt;", "&amp;lt;", "&EACUTE; &NTILDE; &nTILDE; &SZLIG; &FFLIG; &AMP; &Amp;",
    "&Jscr;ohn &HilbertSpace;ancock &checkmark; &nbsp;x&nbsp;", "&notit; &not; &notin; &ampx &amp", "&#0; &#128; &#150; &#x110000; &#xd800; &#59; &#x3b;",
    "&#12ab; &#x; &#; &#xyz; &# 1", "&nbsp &copy 2024 &reg", "&NotNestedGreaterGreater; &nGt; &bne;", "&abcdefghijklmnopqrstuvwxyz0123456789;",
    "&eacute&eacute; &Eacute", "x &lt; y", "x < y &amp; z", "first &amp; line\nsecond < line &amp;\nthird &amp;",
    "&lt;&amp;lt;", "&#128049; &#x1F431; &#9731;",
    # decomposed accents, Hangul, canonical order
    "e\u0301 a\u0300 o\u0308 n\u0303 c\u0327", "A\u030a\u0301 \u212b \u2126 \u1e0b\u0323 \u1e9b\u0323", "q\u0323\u0307 q\u0307\u0323",
    "\u1100\u1161 \u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af \ud55c\u11a8", "\u0915\u093c \u0958 \u09c7\u09be \u0b47\u0b3e",
    "\u00c5\u0327 \u1e69 s\u0323\u0307", "\u0344 \u0340 \u0374 \u037e \u0387 \u2000 \u2001",
    # line breaks, whitespace
    "line\u2028sep\u2029para\u0085next", "crlf\r\nline\rcr", "tabs\t\tand\x0bvt\x0cff", "a\u00a0b\u2009c\u3000d\u202fe",
    "  lead and trail  \n\n", "\u1680ogham\u205fmed", "x\x1cy\x1dz\x1ew\x1fv",
    # control characters
    "nul\x00bell\x07bs\x08esc\x1bdel\x7f", "c1 \x80 \x81 \x8d \x8f \x90 \x91\x92 \x93\x94 \x96 \x97 \x99 \x9d \x9f",
    "bom\ufeff word \ufeff", "\u206a\u206f arabic ctl", "\ufff9\ufffa\ufffb\ufffc anchor \ufffd", "zwj\u200d zwnj\u200c lrm\u200e rlo\u202e",
    "tag \U000e0067\U000e0062 \U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",
    # terminal escapes
    ESC + "[36;44mI'm blue" + ESC + "[0m", ESC + "[1mbold" + ESC + "[m", ESC + "[12;34Hmoved", ESC + "[\u0661\u0662m arabic digits",
    ESC + "[x" + ESC + "[;m" + ESC + "[", ESC + "]0;title\x07 text", "\uff3b" + ESC + "\uff3b31m",
    # emoji, CJK, other scripts
    "emoji \U0001f431\U0001f436 \U0001f44d\U0001f3fd \U0001f468\u200d\U0001f469\u200d\U0001f467 \u2764\ufe0f", "\u4e2d\u6587\u5b57\u7b26 \u65e5\u672c\u8a9e \ud55c\uad6d\uc5b4",
    "\u0391\u03b8\u03ae\u03bd\u03b1 \u039f\u0394\u039f\u03a3 \u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3", "\u041c\u043e\u0441\u043a\u0432\u0430 \u0401\u0451\u0439",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea", "\u0939\u093f\u0928\u094d\u0926\u0940 \u0e44\u0e17\u0e22",
    "\u0130stanbul \u0131 \u212a \u00b5 \u017f", "\u00bd \u2122 \u00a9 \u00ae \u2026 \u2013 \u2014 \u2022",
    # mojibake (ftfy's fix_encoding would repair these: expected to be skipped)
    "\u00e2\u0153\u201d No problems", "sch\u00c3\u00b6n", "voil\u00c3 le travail", "The Mona Lisa doesn\u00c3\u00a2\u00e2\u201a\u00ac\u00e2\u201e\u00a2t have eyebrows.",
    "\u00e2\u20ac\u0153quoted\u00e2\u20ac\x9d",
    # prompt-like
    "A photo of a cat", "a RED car &amp; a Blue bus", "two dogs\u2014one black, one white\u2026", "\u201cHello\u201d sign in \uff26\uff55\uff4c\uff4c\uff57\uff49\uff44\uff54\uff48",
    "\u0345 ypogegrammeni a\u0345b \u1fb3 \u1f80 \u03b1\u0313\u0345", "it'\u017f 'S 'LL", "&hellip; &mdash; &rsquo;s &trade; &euro;5",
    "&amp;quot;nested&amp;quot; &QUOT; &LT;b&GT; &Hat; &HAT;", "Tie\u0302\u0301ng Vie\u0323\u0302t", "\u00c5ngstr\u00f6m \u212bngstro\u0308m",
    "\u1100\u1100\u1161\u11a8\u11a8 \u110b\u1175 \u1161 \u11a8", "\u3131\u314f \uffa1\uffc2", "&#x1F468;&#x200D;&#x1F469; &#X41; &#65&#66",
    "ESC alone \x1b and \x1b[ partial", "\u2018\u2018double single\u2019\u2019 \u201b\u201f", "\uff5e\uff5f\uff60 \uff61\uff64\uff65",
    "<start_of_text> special <end_of_text>", "caf\u00e9 vs cafe\u0301", "", "   ", "\n", "&", "&&&;;;", "a" * 100 + " &amp; " + "b" * 50,
]


def main():
    random.seed(0)
    prompts = [json.loads(l)["prompt"] for l in open(PROMPTS, encoding="utf-8")]
    sample = random.sample(prompts, 100)

    lines = gzip.open(os.path.join(os.path.dirname(spec.origin), "bpe_simple_vocab_16e6.txt.gz")).read().decode().split("\n")
    with open(VOCAB + "/bpe_simple_vocab_reduced.txt", encoding="utf-8") as f:
        reduced = f.read()
    assert reduced == "\n".join(lines[: reduced.count("\n")]) + "\n"
    gz = os.path.join(tempfile.mkdtemp(), "bpe_reduced.txt.gz")
    with gzip.open(gz, "wb") as f:
        f.write(reduced.encode("utf-8"))
    octok = oc.SimpleTokenizer(bpe_path=gz)
    from transformers import CLIPTokenizer
    hftok = CLIPTokenizer.from_pretrained(VOCAB + "/hf")

    cases, skipped = [], {"mojibake": 0, "unicode14": 0}
    for t in HAND + sample:
        fixed = ftfy.fix_text(t)
        skip = ""
        if fixed != ftfy.fix_text(t, fix_encoding=False):
            skip = "mojibake"
        elif any(unicodedata.normalize("NFC", s) != unicodedata2.normalize("NFC", s) for s in (t, fixed)):
            skip = "unicode14"
        c = {"text": t, "ftfy": fixed, "html": html.unescape(t), "nfc": unicodedata2.normalize("NFC", t),
             "clean": oc.whitespace_clean(oc.basic_clean(t)), "skip": skip}
        if skip:
            skipped[skip] += 1
        else:
            n_real = min(77, len(octok.encode(t)) + 2)
            c["oc_ids"] = [int(x) for x in octok([t], context_length=77)[0].tolist()[:n_real]]
            assert c["oc_ids"][-1] == octok.encoder["<end_of_text>"]
        if "<|" not in t:
            c["hf_ids"] = hftok(t, truncation=True, max_length=77)["input_ids"]
        cases.append(c)
    os.makedirs(OUT, exist_ok=True)
    with open(OUT + "/cases.json", "w", encoding="utf-8") as f:
        f.write('{"ftfy": "%s", "cases": [\n' % ftfy.__version__)
        f.write(",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in cases))
        f.write("\n]}\n")
    print("%d cases (%d hand-written, %d prompts); skipped for ftfy: %d mojibake (fix_encoding), %d Unicode 14 vs 16"
          % (len(cases), len(HAND), len(sample), skipped["mojibake"], skipped["unicode14"]), file=sys.stderr)


if __name__ == "__main__":
    main()
