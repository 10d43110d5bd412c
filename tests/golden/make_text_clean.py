#!/usr/bin/env python3
"""Golden fixtures for lib/text/text_clean.c and its use in lib/text/clip_tokenizer.c.

References: ftfy.fix_text (default config), Python's html.unescape,
open_clip's whitespace_clean(basic_clean(text)) (its tokenizer.py, executed
alone: the package needs torchvision), unicodedata2 16.0.0's NFC; for token
ids open_clip's SimpleTokenizer and transformers' CLIPTokenizer on the reduced
vocabulary of tests/golden/clip_tokenizer/ (make_clip_tokenizer.py).

Writes tests/golden/text_clean/cases.json:
  "cases": [{"text", "ftfy", "enc", "mojibake", "html", "nfc", "clean", "skip",
            "oc_ids", "hf_ids"}]
      enc: ftfy.fix_encoding(text); mojibake: 1 when ftfy.fix_text's result
      depends on fix_encoding (it differs with fix_encoding=False); skip: why
      the ftfy / clean values are not ours to match ("unicode14": Python's
      Unicode 14.0 NFC differs from 16.0.0 here), else "". The ids are
      unpadded (SOT .. EOT, cut to 77); oc_ids is absent for skipped cases.
  "is_bad": [[text, 0 or 1]]: ftfy.badness.is_bad on short strings made to
      reach each of its rules, half of them bad.
  "cps": [{"in", "ftfy"}]: ftfy.fix_text on code point arrays holding UTF-16
      surrogates (which UTF-8 cannot carry), as arrays of code points.

The cases: hand-written ones (the character fixers, entities, mojibake and
text that only looks like it), generated mojibake (UTF-8 text of several
scripts decoded with each codec ftfy knows, one and two layers deep, with
the damage it repairs: lost bytes, no-break spaces turned to spaces, pieces
inside good text), and a sample of the real prompts.

Run from the repository root: python3 tests/golden/make_text_clean.py
"""
import gzip, html, importlib.util, json, os, random, re, sys, tempfile, unicodedata

import ftfy
import ftfy.bad_codecs  # noqa: F401  (sloppy-windows-125x)
import unicodedata2
import re._compiler as sre_compile
import re._constants as SRE
import re._parser as sre_parse
from ftfy.badness import BADNESS_RE, is_bad

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
    # mojibake (ftfy's fix_encoding repairs these)
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

# Mojibake, hand-written: each of fix_encoding's ways, and text that only looks like it.
HAND_MOJIBAKE = [
    # UTF-8 read as Latin-1 / Windows-1252, with the extras fix_encoding handles
    "caf\u00c3\u00a9 cr\u00c3\u00a8me br\u00c3\u00bbl\u00c3\u00a9e", "na\u00c3\u00afve r\u00c3\u00a9sum\u00c3\u00a9\n",
    "\u00c3\u00a9t\u00c3\u00a9 is summer, but \u00e9t\u00e9 is fine here", "Mixed: na\u00efve and na\u00c3\u00afve",
    "\u00e2\u20ac\u0153lost quote\u00e2\u20ac\ufffd", "\u00e2\u20ac\u0153lost quote\u00e2\u20ac?", "\u00c3\ufffd and \u00c3?",
    "lost \u00e2\ufffd\ufffd bytes \u00f0\u0178\ufffd\u0160 here", "sub \x1a char \u00c3\u00a9",
    "\u00c3 la carte", "\u00c3 quele dia", "\u00c3 s vezes", "f\u00c3 cil", "\u00c3  la mode", "caf\u00c3 ", "\u00c3\u00a0 la maison",
    "100\u00c2 km", "100\u00c2\u00a0km", "\u00e2\u20ac\u201c dash \u00e2\u20ac\u201d dash", "\u00e2\u20ac \u00c2\u00a0",
    "\u00f0\u0178\u02dc\u0160 emoji \u00f0\u0178\u2018\u008d\u00f0\u0178\u008f\u00bd", "\u00f0\u0178 \u02dc\u0160 spaced emoji",
    "\u00e3\x81\u0178\u00e3\x81 \u00e3\x81\u201e\u00e3\x81\u00be",  # \u305f\u3060\u3044\u307e, the A0 of \u3060 a space
    # a run right after a strict continuation character is left alone
    "caf\u00e9 x\u2030\u00c3\u00a9 fin",
    # C1 controls, alone or in Latin-1 text
    "\x93smart\x94 quotes", "\x80 100 and \x85 more", "\x81 undefined \x8d \x90", "caf\u00e9 \x96 dash",
    # CESU-8 surrogate pairs and Java's null, read as Latin-1; the null before a final newline
    "\u00ed\u00a0\u00bd\u00ed\u00b8\u008a cesu", "null\u00c0\x80byte \u00c3\u00a9", "\u00c3\u00a9\u00c0\n", "\u00c3\u00a9\u00c0",
    "\u00ed\u00a0\u00bd\u00ed\u00b8\n", "\u00ed\u00a0\u00bd bad surrogate \u00c3\u00a9",
    # other codecs
    "\u201a\u00c4\u00faMacRoman\u201a\u00c4\u00f9 caf\u221a\u00a9", "\u201a\u00c4\u00faquoted\u201a\u00c4\u00f9 \u2013 ok", "caf\u251c\u2310 cp437", "\u0420\u045a\u0420\u0455\u0421\u0403\u0420\u0454\u0420\u0406\u0420\u00b0",
    "\u0432\u0402\u045aquote\u0432\u0402\u045c", "\u03b2\u20ac\u2122 greek", "\u0101\u20ac\u201c baltic", "Dvo\u0139\u2122\u0102\u02c7k",
    # two layers
    "caf\u00c3\u0083\u00c2\u00a9", "\u00c3\u00a2\u00e2\u201a\u00ac\u00c5\u201c two layers \u00c3\u00a2\u00e2\u201a\u00ac\u00c2\u009d",
    # several lines, each its own segment
    "first caf\u00c3\u00a9\nsecond fine\nthird \u00e2\u20ac\u0153q\u00e2\u20ac\x9d\n",
    # not mojibake: must stay (ftfy's heuristic agrees)
    "\u00c3 is a letter", "\u00c3\u00c2\u00c4", "\u00d0e and \u00de\u00f3rr", "\u00d8 and \u00d9", "\u03a3\u03af\u03c3\u03c5\u03c6\u03bf\u03c2",
    "\u0428\u0430\u0443\u0440\u043c\u0430", "3\u00d73 matrix, 1\u00bd cups, 50\u00b0C", "\u00aa and \u00ba", "\u0152uvre and \u0153uvre compl\u00e8te",
    "M\u00c9XICO P\u00c2T\u00c9", "\u00e0 la carte", "\u00e0s vezes", "S\u00e3o Jo\u00e3o", "ca\u00f1\u00f3n \u00d1and\u00fa", "\u00c4 \u00d6 \u00dc",
    "(\uff89\u25d5\u30ee\u25d5)\uff89*:\uff65\uff9f\u2727", "\u0295\u2022\u1d25\u2022\u0294", "\u252c\u2500\u252c\u30ce( \u00ba _ \u00ba\u30ce)",
    "(\u256f\u00b0\u25a1\u00b0)\u256f\ufe35 \u253b\u2501\u253b", "\u221a2 \u2248 1.41, x \u2264 y \u2265 z", "E = mc\u00b2, \u2116 5, \u00a7 3 \u00b6 2",
    "\u00a9 2024 Brand\u2122 \u00ae", "\u00bfQu\u00e9 pas\u00f3? \u00a1Ol\u00e9!", "\u00c2\u00bfQu\u00e9?", "price \u00a3 5 and \u00a5 500",
]

# Text to spoil: several scripts, typography, emoji.
SNIPPETS = [
    "caf\u00e9 cr\u00e8me", "Gr\u00f6\u00dfe Stra\u00dfe", "Dvo\u0159\u00e1k in \u0141\u00f3d\u017a", "\u00c6r\u00f8sk\u00f8bing p\u00e5 \u00c6r\u00f8",
    "\u0130stanbul'da g\u00fczel", "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ae \u03b3\u03bb\u03ce\u03c3\u03c3\u03b1",
    "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u0441\u0442\u043e\u043b\u0438\u0446\u0430", "\u5317\u4eac\u6b22\u8fce\u4f60",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "emoji \U0001f60a \U0001f431", "\u201ccurly\u201d \u2018quotes\u2019 it\u2019s",
    "10\u201320 \u2014 dash", "100\u00a0km", "5 \u20ac or \u00a34", "\u00bd cup, 30\u00b0C", "wait\u2026 \u2022 bullet",
]
MORE_SNIPPETS = [
    "Ti\u1ebfng Vi\u1ec7t", "\u0627\u0644\u0639\u0631\u0628\u064a\u0629", "\u05e2\u05d1\u05e8\u05d9\u05ea", "\u0939\u093f\u0928\u094d\u0926\u0940",
    "\u0e44\u0e17\u0e22", "\u2714 done \u2718 failed", "\u00bfQu\u00e9? \u00a1Ol\u00e9!", "S\u00e3o Paulo, A\u00e7\u00e3o",
    "\u017dlu\u0165ou\u010dk\u00fd k\u016f\u0148", "\u0104\u017euolynas \u0160iauliai", "\u041a\u0438\u0457\u0432 \u0456 \u041b\u044c\u0432\u0456\u0432",
    "\ud55c\uad6d\uc5b4 \ubb38\uc7a5", "\u00a9 Brand\u2122", "x \u2264 y", "\U0001f468\u200d\U0001f469\u200d\U0001f467 family",
]
CODECS = ["latin-1", "windows-1252", "windows-1251", "windows-1250", "windows-1253", "windows-1254", "windows-1257",
          "iso-8859-2", "macroman", "cp437"]


def spoil(text, codec):
    """UTF-8 bytes of text read with codec; bytes it leaves undefined become U+FFFD, as real decoders do."""
    return text.encode("utf-8").decode(codec, errors="replace")


def generated_mojibake():
    rng = random.Random(1)
    out = []
    for codec in CODECS:  # one layer: every codec over every snippet
        for t in SNIPPETS:
            out.append(spoil(t, codec))
    for _ in range(40):  # two layers
        out.append(spoil(spoil(rng.choice(SNIPPETS + MORE_SNIPPETS), rng.choice(CODECS[:3])), rng.choice(CODECS)))
    for _ in range(50):  # damaged, or inside good text, or over several lines
        t, codec = rng.choice(SNIPPETS + MORE_SNIPPETS), rng.choice(CODECS[:4])
        m = spoil(t, codec)
        kind = rng.randrange(5)
        if kind == 0:
            m = m.replace("\xa0", " ")
        elif kind == 1:
            m = m.replace("\ufffd", "?")
        elif kind == 2:
            m = rng.choice(MORE_SNIPPETS) + " " + m + " " + rng.choice(SNIPPETS)
        elif kind == 3:
            m = m + "\n" + rng.choice(SNIPPETS) + "\n" + spoil(rng.choice(SNIPPETS), codec)
        else:
            m = m.encode("utf-8").decode("sloppy-" + codec if codec.startswith("windows") else codec)
        out.append(m)
    return out


SPACES = [chr(cp) for cp in range(0x3001) if re.match(r"\s", chr(cp))]


def sample_rule(items, rng, force=None):
    """A random string that the parsed regex items (one alternative of ftfy's BADNESS_RE) match; force =
    (item index, choice index) fixes which member of that character set is taken."""
    out = []
    for pos, (op, av) in enumerate(items):
        if op is SRE.LITERAL:
            out.append(chr(av))
        elif op is SRE.ANY:
            out.append(rng.choice("aZ 1\u4e2d\u00e9\u00a0"))
        elif op is SRE.AT:
            pass  # ^: the caller puts nothing before it
        elif op is SRE.MAX_REPEAT:
            lo, hi, sub = av
            out += [sample_rule(sub, rng) for _ in range(rng.randint(lo, min(hi, 2)))]
        elif op is SRE.IN:
            if (SRE.NEGATE, None) in av:
                no = [a for o, a in av if o is not SRE.NEGATE]
                pick = [c for c in "aZ1_. \u4e2d\u00e9\u00fc\u00a0\u00b0\n\u00c3"
                        if not any(lo <= ord(c) <= hi for lo, hi in [(a, a) if isinstance(a, int) else a for a in no])]
                out.append(rng.choice(pick))
                continue
            o, a = av[force[1]] if force and force[0] == pos else rng.choice(av)
            if o is SRE.LITERAL:
                out.append(chr(a))
            elif o is SRE.RANGE:
                out.append(chr(rng.randint(*a)))
            elif a is SRE.CATEGORY_SPACE:  # \s (Unicode: the pattern is a str)
                out.append(rng.choice(SPACES))
            else:
                assert a is SRE.CATEGORY_WORD, a
                out.append(rng.choice("a_5\u4e2d\u00e9"))
        else:
            raise ValueError(op)
    return "".join(out)


def is_bad_strings():
    """ftfy.badness.is_bad on strings made from each of its rules (the alternatives of BADNESS_RE): for each
    rule and each member of each of its character sets, a string in some context that takes that member there
    and that the rule matches, where that can be alone (so that each rule is tested on its own); then, as many,
    strings one character away from those that are not bad."""
    (op, (_, rules)), = sre_parse.parse(BADNESS_RE.pattern, re.VERBOSE).data
    assert op is SRE.BRANCH
    compiled = [sre_compile.compile(r, 0) for r in rules]
    context = list("abcXY 12.,?!_") + ["\u4e2d", "\n", "  ", "caf"]
    rng = random.Random(2)
    bad, alone = [], set()
    for k, rule in enumerate(rules):
        anchored = rule.data[0][0] is SRE.AT
        forces = [(pos, j) for pos, (op, av) in enumerate(rule.data) if op is SRE.IN and (SRE.NEGATE, None) not in av
                  for j in range(len(av))] or [None]
        for force in forces:
            found = None
            for _ in range(30):
                before = "" if anchored else "".join(rng.choice(context) for _ in range(rng.randint(0, 2)))
                t = before + sample_rule(rule, rng, force) + "".join(rng.choice(context) for _ in range(rng.randint(0, 2)))
                hits = [j for j, c in enumerate(compiled) if c.search(t)]
                if hits == [k]:
                    found = t
                    alone.add(k)
                    break
                found = found or t
            bad.append(found)
    alphabet = sorted(set("".join(bad)))
    good = []
    for t in bad:  # one of the changes of one character (to a few plain ones, or three others) that is not bad
        near = [t[:i] + c + t[i + 1:] for i in range(len(t)) for c in ["\n", " ", "a", "A", "1", "."] +
                rng.sample(alphabet, 3)]
        near = [u for u in near if not is_bad(u)]
        if near:
            good.append(rng.choice(near))
    # and by hand, at the edges of the rules: '.' refuses a newline, '^' is the start only, '\\s?' one space
    good += ["\u0413\u045e\u0412\u0402\u0412\nA", "\u0413\u045e\u0412\u0402\u0412x\u00e9", "1\u00c3 ",
             "a  \u00c3 ", "1\u00c2 ", "\u0152a", "\u0153Z", "\u00c3", "\u00d74", "\u03b2\u20acx", "\u0412x\u0412",
             "\u00d8 \u00d9 ", "\u00e01", "\u221ax", "\u201a\u00c4a"]
    assert all(is_bad(t) for t in bad) and not any(is_bad(t) for t in good) and "\0" not in "".join(bad + good)
    print("is_bad: %d rules, %d of them tested alone (the others only match where other rules do)"
          % (len(rules), len(alone)), file=sys.stderr)
    return [[t, 1] for t in bad] + [[t, 0] for t in good]


def surrogate_cases():
    arrays = [[0xD83D, 0xDE0A], [0xDE0A, 0xD83D], [0x61, 0xD800], [0xDBFF, 0xDFFF, 0x62], [0xD800, 0xD800, 0xDC00],
              [0xE9, 0xD83D, 0xDE0A, 0x0A, 0xDC00]]
    return [{"in": a, "ftfy": [ord(c) for c in ftfy.fix_text("".join(map(chr, a)))]} for a in arrays]


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

    moji = HAND_MOJIBAKE + generated_mojibake()
    cases, skipped, n_moji = [], 0, 0
    for t in HAND + moji + sample:
        fixed = ftfy.fix_text(t)
        # ftfy applied to its own output gives it back (the C test checks ours is too)
        assert ftfy.fix_text(fixed) == fixed, t
        skip = ""
        if any(unicodedata.normalize("NFC", s) != unicodedata2.normalize("NFC", s) for s in (t, fixed)):
            skip = "unicode14"
        mojibake = int(fixed != ftfy.fix_text(t, fix_encoding=False))
        n_moji += mojibake
        c = {"text": t, "ftfy": fixed, "enc": ftfy.fix_encoding(t), "mojibake": mojibake, "html": html.unescape(t),
             "nfc": unicodedata2.normalize("NFC", t), "clean": oc.whitespace_clean(oc.basic_clean(t)), "skip": skip}
        if skip:
            skipped += 1
        else:
            n_real = min(77, len(octok.encode(t)) + 2)
            c["oc_ids"] = [int(x) for x in octok([t], context_length=77)[0].tolist()[:n_real]]
            assert c["oc_ids"][-1] == octok.encoder["<end_of_text>"]
        if "<|" not in t:
            c["hf_ids"] = hftok(t, truncation=True, max_length=77)["input_ids"]
        cases.append(c)
    bad = is_bad_strings()
    cps = surrogate_cases()
    os.makedirs(OUT, exist_ok=True)
    with open(OUT + "/cases.json", "w", encoding="utf-8") as f:
        f.write('{"ftfy": "%s", "cases": [\n' % ftfy.__version__)
        f.write(",\n".join(json.dumps(c, ensure_ascii=True, separators=(",", ":")) for c in cases))
        f.write('\n], "is_bad": [\n')
        f.write(",\n".join(json.dumps(b, ensure_ascii=True, separators=(",", ":")) for b in bad))
        f.write('\n], "cps": [\n')
        f.write(",\n".join(json.dumps(c, separators=(",", ":")) for c in cps))
        f.write("\n]}\n")
    print("%d cases (%d hand-written, %d mojibake hand-written or generated, %d prompts): %d where fix_encoding "
          "changes ftfy's result; %d skipped (Unicode 14 vs 16); %d is_bad strings, %d code point cases"
          % (len(cases), len(HAND), len(moji), len(sample), n_moji, skipped, len(bad), len(cps)), file=sys.stderr)

if __name__ == "__main__":
    main()
