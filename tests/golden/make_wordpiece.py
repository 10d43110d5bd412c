#!/usr/bin/env python3
"""Writes tests/golden/wordpiece/: a small BERT WordPiece vocabulary and the ids
transformers gives for ~100 strings, for tests/golden/test_wordpiece.c.

bert-base-uncased cannot be downloaded here, so the vocabulary is built by
hand in its layout ([PAD]=0, [unused*], [UNK]=100, [CLS]=101, [SEP]=102,
[MASK]=103, single characters, "##" characters, then words and pieces),
with one token listed twice (a duplicate line: the last id wins).

Files:
  vocab.txt             the vocabulary, one token per line
  json/tokenizer.json   the same as tokenizers writes it (BertTokenizer's backend)
  cases.json            {"cases": [{"text", "ids", ["slow_ids"]}], "cased": [...], and a few ids}

References, run on every string without special tokens:
  fast  transformers.BertTokenizer (tokenizers' BertNormalizer + BertPreTokenizer
        + WordPiece; what GIT's AutoProcessor runs): the expected ids;
  json  tokenizers.Tokenizer.from_file(json/tokenizer.json): must equal fast;
  slow  transformers' Python BertTokenizerLegacy on vocab.txt. Where it differs
        from fast the case keeps "slow_ids" and the script prints it: the known
        differences are NFC before a cased tokenization, the final-sigma rule of
        str.lower(), and characters whose Unicode category changed after the
        old tables inside tokenizers.

Run from the repository root:  python3 tests/golden/make_wordpiece.py

  --cross  instead, a wider check that writes no fixture: 8 x 20000 random
           strings drawn from marks, decomposable letters, capitals,
           punctuation / control / space characters, CJK and Hangul, under 8
           BertNormalizer settings, through tokenizers and through the C
           library (a small driver compiled from the library's sources). The
           vocabulary is every character of the normalized texts, alone and
           with "##", so the ids spell out the normalization and the split
           exactly. Last run: 160000 of 160000 identical.
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

import tokenizers
import transformers
from transformers import BertTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

OUT = "tests/golden/wordpiece"

WORDS = """
the a an of and is are there this that what with on in at to for it its photo picture image
purple elephant four coast coasters red blue green yellow orange black white brown pink gray
cat dog car bus train bicycle horse sheep cow bird bear teddy umbrella suitcase fork knife spoon
bowl banana apple pizza clock toilet zebra giraffe bench person people table chair book tree sky
wooden metal glass plastic round square left right above below near two three one five six
yes no hello world cafe resume naive uber straw play read walk run un able don t s ll re ve
strasse istanbul ss i ka ya new york 100 3 14 1 000 5 c e mail
""".split()
PIECES = """##s ##es ##ed ##ing ##er ##ers ##ly ##able ##berry ##ical ##tion ##ya ##ka ##ee ##ll ##ra ##n ##o
##0 ##00 ##4 ##ct ##t ##a""".split()
CHARS = list("!\"#$%&'()*+,-./0123456789:;<=>?@[\\]^_`{|}~abcdefghijklmnopqrstuvwxyz") + \
    list("¡¿«»“”‘’—–…°½²€£·§") + list("αβγδεζηθικλμνξοπρστυφχψωςάéèêëàâäôöüçñßøåæ") + \
    list("一人大中国你好世界猫狗日本和的是在有") + list("ㄱㄴ") + ["\u1100", "\u1161", "\u11a8"] + \
    list("にほんご") + ["ｆ", "ａ", "ｂ", "ｃ"]


def build_vocab():
    vocab = ["[PAD]"] + ["[unused%d]" % i for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += CHARS
    vocab += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    vocab += ["##" + c for c in "éαβγδεζηθικλμνξοπρστυφχψωςあ"]
    vocab += [w for w in WORDS + PIECES if w not in vocab]  # single letters are there already
    vocab += ["duplicate", "twice", "duplicate"]  # the second "duplicate" line's id wins
    seen = set()
    for i, t in enumerate(vocab):  # only the deliberate duplicate
        if t in seen and t != "duplicate":
            sys.exit("make_wordpiece: %r listed twice by accident (line %d)" % (t, i + 1))
        seen.add(t)
    return vocab


CASES = [
    "", " ", "\t\n  \r\n", "purple elephant?", "a photo of four coasters?", "A red car and a blue bicycle?",
    "Is there a teddy bear on the table?", "two dogs, three cats; one bird.", "ORANGE Banana APPLE",
    "yes", "no", "Yes!", "NO?", "the duplicate twice", "hello world", "hello  world ", "  leading and trailing  ",
    "Café Résumé naïve Über", "CAFÉ", "cafe\u0301", "a\u0301", "\u0301", "e\u0301\u0301", "x\u0315\u0300y",
    "Straße", "ẞ", "İstanbul", "ǅ", "Ǆ", "ǰ", "Ḝ", "Tiếng Việt", "Ωmega", "\u2126 \u212b", "ﬁ ligature",
    "ΟΔΟΣ", "οδος σ", "αβγ", "Ελληνικά",
    "你好世界", "猫和狗", "hello世界", "中国人在日本", "こんにちは", "にほんご", "한국어", "ㄱㄴ", "\u4e00\u4e00x",
    "\U00020000 ext-b", "\uf900 compat ideograph",
    "🍕 pizza", "pizza🍕", "I ❤ NY", "a🥰b", "🫠", "😀😀",
    "a\x00b", "a\x07b\x1bc", "tab\tand\nnewline\r\nend", "\u00a0nbsp\u00a0", "\u3000ideographic space",
    "zero\u200bwidth", "soft\u00adhyphen", "\ufeffbom", "\ufffdreplacement", "\x85next line", "line\u2028sep",
    "a\u2029b", "\x0bvt\x0cff", "\x7fdel\x9fc1", "\ue000private", "a\U000e0001tag",
    "a" * 100, "a" * 101, "supercalifragilisticexpialidocious", "x" * 150 + " yes", "unable unplayable",
    "strawberry", "coasters", "playing played plays", "reading", "ka ya kaya kayaka",
    "!!!", "?!?...", "don't", "it's we'll they're", "e-mail", "3.14", "100%", "$5", "1,000", "(parenthesis)",
    "[brackets]", "{braces}", "<tag>", "a+b=c", "a_b", "^caret `tick` ~tilde |pipe|", "#hashtag @user",
    "##ing", "€5 £3", "°C ½ ²", "¿Qué?", "«quotes» “smart” ‘single’", "—dash– …", "a·b §2",
    "a[CLS]b", "[MASK] is a cat", "[cls] lowercase", "[UNK]", "[SEP][SEP]", "[PAD] [unused0]", "[MASK", "MASK]",
    "ＡＢＣ ｆ", "Ⅻ ∑ √", "مرحبا", "שָׁלוֹם", "नमस्ते", "สวัสดี",
    "a\u2e43b", "a\u07fdb", "a\u0f3a", "new york", "New York!",
]
CASED = ["Café", "Hello World", "cafe\u0301", "İstanbul", "ΟΔΟΣ", "New York? YES", "Straße 你好", "[CLS] Yes"]


def main():
    os.makedirs(OUT + "/json", exist_ok=True)
    vocab = build_vocab()
    with open(OUT + "/vocab.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(vocab) + "\n")

    slow = BertTokenizerLegacy(OUT + "/vocab.txt")
    fast = BertTokenizer.from_pretrained(OUT)  # reads vocab.txt (no tokenizer.json there)
    fast.backend_tokenizer.save(OUT + "/json/tokenizer.json")
    from_json = tokenizers.Tokenizer.from_file(OUT + "/json/tokenizer.json")
    slow_cased = BertTokenizerLegacy(OUT + "/vocab.txt", do_lower_case=False)
    fast_cased = BertTokenizer.from_pretrained(OUT, do_lower_case=False)

    def run(texts, s_tok, f_tok, j_tok):
        cases, n_diff = [], 0
        for text in texts:
            ids = f_tok.encode(text, add_special_tokens=False)
            if j_tok is not None:
                j = j_tok.encode(text, add_special_tokens=False).ids
                if j != ids:
                    sys.exit("make_wordpiece: tokenizer.json and BertTokenizer disagree on %r: %s vs %s" % (text, j, ids))
            s = s_tok.encode(text, add_special_tokens=False)
            case = {"text": text, "ids": ids}
            if s != ids:
                case["slow_ids"] = s
                n_diff += 1
                print("slow and fast differ on %r: slow %s, fast %s (expected: fast)" % (text, s, ids), file=sys.stderr)
            cases.append(case)
        return cases, n_diff

    cases, d1 = run(CASES, slow, fast, from_json)
    cased, d2 = run(CASED, slow_cased, fast_cased, None)
    t2i = {t: i for i, t in enumerate(vocab)}
    doc = {
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
        "vocab_size": len(vocab), "yes_id": t2i["yes"], "no_id": t2i["no"], "cls_id": t2i["[CLS]"],
        "sep_id": t2i["[SEP]"], "unk_id": t2i["[UNK]"], "duplicate_id": t2i["duplicate"],
        "cases": cases, "cased": cased,
    }
    with open(OUT + "/cases.json", "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=True, indent=0)
    print("%d cases (%d where slow differs), %d cased (%d), vocab %d" % (len(cases), d1, len(cased), d2, len(vocab)),
          file=sys.stderr)


DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include "text/wordpiece.h"
// argv[1]: tokenizer.json; stdin: [u32 length][bytes] records; stdout: ids per line
int main(int argc, char **argv) {
    bc_err err;
    bc_wordpiece *t = argc > 1 ? bc_wordpiece_load(argv[1], -1, &err) : NULL;
    if (!t) { fprintf(stderr, "%s\n", argc > 1 ? err.msg : "usage: driver tokenizer.json"); return 2; }
    uint32_t len;
    while (fread(&len, 4, 1, stdin) == 1) {
        char *s = malloc(len + 1);
        if (fread(s, 1, len, stdin) != len) return 3;
        int32_t *ids = NULL;
        size_t n = 0;
        if (bc_wordpiece_encode(t, s, len, &ids, &n, &err) < 0) printf("-1");
        for (size_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", ids[i]);
        printf("\n");
        free(ids);
        free(s);
    }
    bc_wordpiece_free(t);
    return 0;
}
"""


def cross_check():
    import unicodedata2 as ud
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    tmp = tempfile.mkdtemp()
    with open(tmp + "/driver.c", "w") as f:
        f.write(DRIVER)
    # the sources it needs, not lib/libbicot.a (which may be a sanitizer build)
    subprocess.run("cc -std=c11 -D_GNU_SOURCE -O2 -Ilib %s/driver.c lib/text/wordpiece.c lib/text/unicode_bert.c "
                   "lib/text/regex.c lib/text/unicode_tables.c lib/util.c lib/io/json.c lib/io/stream.c "
                   "-lmsgpackc -lzstd -ljansson -lm -o %s/driver" % (tmp, tmp), shell=True, check=True)
    allcp = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    cat = {c: ud.category(chr(c)) for c in allcp}
    pools = [[c for c in allcp if cat[c][0] == "M"],
             [c for c in allcp if ud.decomposition(chr(c)) and not ud.decomposition(chr(c)).startswith("<")],
             [c for c in allcp if chr(c).lower() != chr(c) or cat[c] in ("Lu", "Lt")],
             [c for c in allcp if cat[c][0] in "PCZ"],
             list(range(0x20, 0x7F)) + [0, 9, 10, 13], allcp, list(range(0x4E00, 0x4F00)), list(range(0xAC00, 0xAD00))]
    total = bad = 0
    # (lowercase, strip_accents, clean_text, handle_chinese_chars)
    for seed, (lower, strip, clean, cjk) in enumerate([(1, None, 1, 1), (0, None, 1, 1), (1, False, 1, 1),
                                                       (0, True, 0, 1), (1, None, 0, 1), (0, False, 0, 0),
                                                       (1, True, 1, 0), (1, False, 1, 0)]):
        rng = random.Random(seed)
        texts = ["".join(chr(rng.choice(rng.choice(pools))) for _ in range(rng.randint(0, 12))) for _ in range(20000)]
        norm = normalizers.BertNormalizer(clean_text=bool(clean), handle_chinese_chars=bool(cjk), strip_accents=strip,
                                          lowercase=bool(lower))
        chars = sorted(set("".join(norm.normalize_str(t) for t in texts)) - {" ", "\0"})  # jansson: no NUL in keys
        vocab = {"[UNK]": 0}
        for c in chars:
            vocab.setdefault(c, len(vocab))
            vocab.setdefault("##" + c, len(vocab))
        tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=8))
        tok.normalizer = norm
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.save(tmp + "/tokenizer.json")
        data = b"".join(struct.pack("<I", len(t.encode())) + t.encode() for t in texts)
        out = subprocess.run([tmp + "/driver", tmp + "/tokenizer.json"], input=data, capture_output=True, check=True)
        lines = out.stdout.decode().split("\n")
        if len(lines) < len(texts):
            sys.exit("make_wordpiece --cross: the driver stopped early: %s" % out.stderr.decode())
        n_bad = 0
        for t, line in zip(texts, lines):
            want = tok.encode(t, add_special_tokens=False).ids
            got = [int(x) for x in line.split()]
            if got != want:
                n_bad += 1
                if n_bad <= 5:
                    print("  differs: %s want %s got %s" % ([hex(ord(c)) for c in t], want, got), file=sys.stderr)
        print("lowercase=%s strip_accents=%s clean_text=%s handle_chinese_chars=%s: %d of %d differ"
              % (lower, strip, clean, cjk, n_bad, len(texts)), file=sys.stderr)
        total += len(texts)
        bad += n_bad
    print("cross-check: %d of %d identical" % (total - bad, total), file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    if sys.argv[1:] == ["--cross"]:
        cross_check()
    else:
        main()
