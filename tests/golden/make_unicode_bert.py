#!/usr/bin/env python3
"""Writes lib/text/unicode_bert.c: the Unicode data BERT's WordPiece tokenizer
(lib/text/wordpiece.c) needs, measured code point by code point on the
reference itself, Hugging Face tokenizers' BertNormalizer / BertPreTokenizer
(what transformers' BertTokenizer runs, and GIT's AutoProcessor with it):

  bc_bert_ranges   per code point flags: removed by clean_text (Cc Cf Co Cs as
                   tokenizers' tables know them), whitespace, punctuation (split
                   off by BertPreTokenizer), CJK (spaced by
                   handle_chinese_chars), nonspacing mark (dropped when
                   stripping accents)
  bc_bert_lower    Lowercase, as ranges (first, last, step, delta)
  bc_bert_lower_multi / bc_bert_nfd + bc_bert_pool
                   lowercases longer than one code point, and full canonical
                   decompositions (Hangul syllables are left to the algorithm)
  bc_bert_ccc      canonical combining classes (for NFD's canonical reordering)

Why measure rather than take unicodedata: the tokenizers crates carry
different Unicode versions. Lowercase is Rust's std (16.0 today), but the
categories behind clean_text / punctuation / Mn come from the old
unicode_categories crate and NFD from unicode-normalization-alignments: 142
punctuation and 470 accent-stripping differences with Unicode 16.0, and
unassigned code points are kept, not removed as "Cn". Python's slow
BertTokenizer (Unicode 14.0 in Python 3.11) differs again on characters newer
than those crates. The canonical combining classes cannot be probed one code
point at a time; they come from unicodedata2 (Unicode 16.0.0, the project's
version), keeping only those the crate's NFD is seen to reorder (a mark it
predates keeps its place there).

Run from the repository root (tokenizers + unicodedata2==16.0.0 installed):
    python3 tests/golden/make_unicode_bert.py
"""
import sys

import tokenizers
import unicodedata2
from tokenizers import normalizers, pre_tokenizers

CONTROL, SPACE, PUNCT, CJK, MARK = 1, 2, 4, 8, 16


def crate_knows_class(nfd, cp, k):
    """Whether tokenizers' NFD reorders cp as a mark of class k (its tables
    predate marks added since, which it leaves where they are)."""
    m = chr(cp)
    if k > 1:  # a class above 1 moves after U+0334 (class 1)
        return nfd.normalize_str("a" + m + "\u0334") == "a\u0334" + m
    return nfd.normalize_str("a\u0301" + m) == "a" + m + "\u0301"  # class 1 moves before U+0301 (230)


def main():
    clean = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False, strip_accents=False, lowercase=False)
    cjk = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False)
    strip = normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False)
    lower = normalizers.Lowercase()
    nfd = normalizers.NFD()
    pre = pre_tokenizers.BertPreTokenizer()

    flags = [0] * 0x110000
    lowers = {}      # cp -> lowercase string (when different)
    decomps = {}     # cp -> NFD string (when different, Hangul excluded)
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # not representable in a Rust str; UTF-8 decoding never yields them
        c = chr(cp)
        f = 0
        got = clean.normalize_str(c)
        if got == "":
            f |= CONTROL
        elif got == " " and c != " ":
            f |= SPACE
        if c == " ":
            f |= SPACE
        if cjk.normalize_str(c) == " " + c + " ":
            f |= CJK
        d = nfd.normalize_str(c)
        if d != c:
            if 0xAC00 <= cp <= 0xD7A3:
                pass  # Hangul: decomposed by arithmetic in C, checked below
            else:
                decomps[cp] = d
        elif strip.normalize_str(c) == "":
            f |= MARK
        if not f & (SPACE | CONTROL):
            pieces = pre.pre_tokenize_str("a" + c + "a")
            if len(pieces) == 3 and pieces[1][0] == c:
                f |= PUNCT
            elif len(pieces) != 1:
                sys.exit("make_unicode_bert: unexpected pre-tokenization of U+%04X: %r" % (cp, pieces))
        else:
            # whitespace is split on by the pre-tokenizer too (when clean_text is off): check they agree
            pieces = pre.pre_tokenize_str("a" + c + "a")
            if f & SPACE and len(pieces) != 2:
                sys.exit("make_unicode_bert: U+%04X: clean_text maps it to a space, the pre-tokenizer keeps it" % cp)
            if f & CONTROL and len(pieces) == 2:
                f |= SPACE  # removed by clean_text, whitespace when clean_text is off (U+0085)
        flags[cp] = f
        lo = lower.normalize_str(c)
        if lo != c:
            lowers[cp] = lo

    # Hangul syllables decompose by arithmetic (Unicode ch. 3.12): check the crate does the same.
    for cp in (0xAC00, 0xAC01, 0xB098, 0xD7A3):
        s = cp - 0xAC00
        want = chr(0x1100 + s // 588) + chr(0x1161 + (s % 588) // 28) + (chr(0x11A7 + s % 28) if s % 28 else "")
        if nfd.normalize_str(chr(cp)) != want:
            sys.exit("make_unicode_bert: Hangul U+%04X does not decompose arithmetically" % cp)

    ranges = []
    for cp in range(0x110000):
        f = flags[cp]
        if f == 0:
            continue
        if ranges and ranges[-1][2] == f and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp, f])

    # Single code point lowercases as runs: cp, cp+step, ... all shifted by delta.
    lower_runs, multi = [], []
    for cp in sorted(lowers):
        lo = lowers[cp]
        if len(lo) != 1:
            multi.append((cp, lo))
            continue
        delta = ord(lo) - cp
        r = lower_runs[-1] if lower_runs else None
        if r and r[3] == delta and (r[2] == 0 and cp - r[1] in (1, 2) or r[2] and cp - r[1] == r[2]):
            if r[2] == 0:
                r[2] = cp - r[1]
            r[1] = cp
        else:
            lower_runs.append([cp, cp, 0, delta])

    # The runs must give back every single code point lowercase, and nothing else.
    rebuilt = {}
    for a, b, step, d in lower_runs:
        for cp in range(a, b + 1, step or 1):
            rebuilt[cp] = chr(cp + d)
    if rebuilt != {cp: lo for cp, lo in lowers.items() if len(lo) == 1}:
        sys.exit("make_unicode_bert: lowercase runs do not rebuild the mapping")

    ccc = []
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        k = unicodedata2.combining(chr(cp))
        if k == 0 or not crate_knows_class(nfd, cp, k):
            continue
        if ccc and ccc[-1][2] == k and ccc[-1][1] == cp - 1:
            ccc[-1][1] = cp
        else:
            ccc.append([cp, cp, k])

    pool = []

    def put(s):
        off = len(pool)
        pool.extend(ord(x) for x in s)
        if len(s) > 255 or off > 0xFFFF:
            sys.exit("make_unicode_bert: pool overflow")
        return off

    out = ["// Generated by tests/golden/make_unicode_bert.py from tokenizers %s (BertNormalizer," % tokenizers.__version__,
           "// BertPreTokenizer, Lowercase, NFD measured per code point) and unicodedata2 %s (canonical"
           % unicodedata2.unidata_version,
           "// combining classes). The project's other tables are Unicode 16.0.0; tokenizers' category and",
           "// NFD tables are older (see the script). Do not edit.",
           "#include \"text/unicode_bert.h\"", "",
           "const char bc_bert_unicode_source[] = \"tokenizers %s, unicodedata2 %s\";"
           % (tokenizers.__version__, unicodedata2.unidata_version), "",
           "// Sorted, disjoint ranges with their BC_BERT_* flags (code points not listed: none).",
           "const bc_bert_range bc_bert_ranges[] = {"]
    out += ["    {0x%X, 0x%X, %d}," % tuple(r) for r in ranges]
    out += ["};", "const size_t bc_bert_ranges_len = sizeof bc_bert_ranges / sizeof bc_bert_ranges[0];", "",
            "// Lowercase runs {first, last, step, delta}: first, first+step, ... last map to cp + delta.",
            "const bc_bert_lower_run bc_bert_lower[] = {"]
    out += ["    {0x%X, 0x%X, %d, %d}," % (a, b, s or 1, d) for a, b, s, d in lower_runs]
    out += ["};", "const size_t bc_bert_lower_len = sizeof bc_bert_lower / sizeof bc_bert_lower[0];", "",
            "// Lowercases longer than one code point {cp, pool offset, length}.",
            "const bc_bert_map bc_bert_lower_multi[] = {"]
    out += ["    {0x%X, %d, %d}," % (cp, put(s), len(s)) for cp, s in multi]
    out += ["};", "const size_t bc_bert_lower_multi_len = sizeof bc_bert_lower_multi / sizeof bc_bert_lower_multi[0];",
            "", "// Full canonical decompositions {cp, pool offset, length}, Hangul syllables excluded.",
            "const bc_bert_map bc_bert_nfd[] = {"]
    items = ["{0x%X,%d,%d}," % (cp, put(decomps[cp]), len(decomps[cp])) for cp in sorted(decomps)]
    out += ["    " + " ".join(items[i:i + 6]) for i in range(0, len(items), 6)]
    out += ["};", "const size_t bc_bert_nfd_len = sizeof bc_bert_nfd / sizeof bc_bert_nfd[0];", "",
            "// Canonical combining classes {first, last, class}, nonzero only.",
            "const bc_bert_range bc_bert_ccc[] = {"]
    items = ["{0x%X,0x%X,%d}," % tuple(r) for r in ccc]
    out += ["    " + " ".join(items[i:i + 5]) for i in range(0, len(items), 5)]
    out += ["};", "const size_t bc_bert_ccc_len = sizeof bc_bert_ccc / sizeof bc_bert_ccc[0];", "",
            "const uint32_t bc_bert_pool[] = {"]
    items = ["0x%X," % x for x in pool]
    out += ["    " + " ".join(items[i:i + 10]) for i in range(0, len(items), 10)]
    out += ["};", ""]
    with open("lib/text/unicode_bert.c", "w") as f:
        f.write("\n".join(out))
    print("ranges %d, lower runs %d (+%d multi), nfd %d, ccc %d, pool %d" %
          (len(ranges), len(lower_runs), len(multi), len(decomps), len(ccc), len(pool)), file=sys.stderr)


if __name__ == "__main__":
    main()
