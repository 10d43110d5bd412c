#!/usr/bin/env python3
"""Builds the byte-level BPE tokenizer fixtures under tests/golden/tokenizer/
and the expected encodings, all with Hugging Face `tokenizers` (the reference).

Real tokenizer files can't be downloaded where this runs, so each fixture
reproduces the *structure* of a real tokenizer.json with a small vocabulary
trained on a small corpus:

  deepseek/  DeepSeek-LLM / Janus-Pro: empty normalizer Sequence; pre_tokenizer
             Sequence of five Split(Isolated) regexes, Digits(individual), ByteLevel
             (use_regex false); TemplateProcessing that prepends BOS; ByteLevel
             decoder; merges as "a b" strings; added tokens from id V on, like
             DeepSeek's 100000+ block (BOS, EOS, plain added chars such as "ø",
             <｜▁pad▁｜>, <|User|>, <begin_of_image>, ...), plus tokenizer_config.json.
             ASSUMED (not verified against the real file, which we can't fetch):
             the regexes are those llama.cpp lists for LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM,
             except the last one, "\\p{N}+", which we write as the Digits
             pre-tokenizer with individual_digits (our recollection of the
             deepseek-llm tokenizer.json). The C side reads whatever the file says.
  gpt2/      GPT-2: ByteLevel pre-tokenizer with use_regex (the regex is
             built into the library), ByteLevel post-processor, <|endoftext|>.
  llama3/    Llama-3: one Split with the (?i:...) / \\p{N}{1,3} regex, ByteLevel
             without regex, ignore_merges, merges as ["a","b"] pairs.

cases.json: for every fixture and every test string, the ids with and without
special tokens and the decodes (with and without skip_special_tokens).

Run from the repository root:  python3 tests/golden/make_tokenizers.py
"""
import json
import os
import random

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers, Regex

OUT = "tests/golden/tokenizer"
PROMPTS = "/work/shared/data/t2i-r1-train-prompts.jsonl"

DEEPSEEK_LETTERS = (
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\u1f7dᾀ-ᾴᾶ-ᾼ\u1fbeῂ-ῄῆ-ῌῐ-\u1fd3ῖ-\u1fdbῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\u2126ℨ\u212a-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+")
DEEPSEEK_SPLITS = ["[\r\n]", DEEPSEEK_LETTERS, "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", "[一-龥ࠀ-一가-퟿]+"]
LLAMA3_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")

MULTI = [
    "Hello, how are you?", "The quick brown fox jumps over the lazy dog. 1234567890",
    "你好，世界！这是一个测试。我们在北京。", "日本語のテキストとカタカナ ー。", "한국어 텍스트입니다",
    "Россия и Україна, Ελληνικά γράμματα", "مرحبا بالعالم", "Café naïve résumé façade Ångström",
    "Emoji: 😀👍🏽🇺🇸 and ❤️ 🎨🖼️", "Numbers 12345 and 3.14159 and 1,000,000 ٣٤٥ ⅷ ½",
    "def foo(x):\n    return x ** 2  # comment\n\tindent", "I'm sure they'll say it's fine, DON'T you think? We've seen it.",
    "a painting of a cat, in the style of Van Gogh", "“quoted” ‘text’ — dash… ellipsis «guillemets»",
]

SPECIAL_DEEPSEEK = [  # (content, special) in DeepSeek's order from id V on
    ("<｜begin▁of▁sentence｜>", True), ("<｜end▁of▁sentence｜>", True),
    ("ø", False), ("ö", False), ("ú", False), ("ÿ", False), ("õ", False), ("÷", False), ("û", False),
    ("ý", False), ("À", False), ("ù", False), ("Á", False), ("þ", False), ("ü", False),
    ("<｜▁pad▁｜>", True), ("<begin_of_image>", True), ("<end_of_image>", True), ("<image_placeholder>", True),
    ("<|User|>", True), ("<|Assistant|>", True), ("<|ref|>", True), ("<|/ref|>", True),
]


def corpus():
    lines = []
    with open(PROMPTS) as f:
        for i, line in enumerate(f):
            if i >= 3000:
                break
            lines.append(json.loads(line)["prompt"])
    return lines + MULTI * 20


def split(regex):
    return pre_tokenizers.Split(Regex(regex), behavior="isolated", invert=False)


def train(pre, vocab_size):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    return json.loads(tok.to_str())


def added(i, content, special=True, normalized=None):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": (not special) if normalized is None else normalized, "special": special}


def bytelevel(use_regex, prefix=False):
    return {"type": "ByteLevel", "add_prefix_space": prefix, "trim_offsets": True, "use_regex": use_regex}


def make_deepseek():
    """Added-token ids follow HF's rule on load (the next id after the model vocab,
    or the model's id when the content is in it), so they are written that way."""
    pres = [split(r) for r in DEEPSEEK_SPLITS] + [pre_tokenizers.Digits(individual_digits=True),
                                                    pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)]
    j = train(pre_tokenizers.Sequence(pres), 1200)
    # DeepSeek's model vocab lacks the byte-level characters of the 13 bytes that
    # never occur in UTF-8 (C0 C1 F5-FF: "À", "Á", "õ", ..., "ÿ"); its file adds
    # them back as plain added tokens after BOS/EOS (ids 100002-100014). Same here.
    never = {c for c, _ in SPECIAL_DEEPSEEK if len(c) == 1}
    kept = sorted((i, t) for t, i in j["model"]["vocab"].items() if t not in never)
    assert not any(c in m for m in j["model"]["merges"] for c in never)
    j["model"]["vocab"] = {t: k for k, (_, t) in enumerate(kept)}
    v = len(j["model"]["vocab"])
    j["added_tokens"] = [added(v + k, c, s) for k, (c, s) in enumerate(SPECIAL_DEEPSEEK)]
    j["normalizer"] = {"type": "Sequence", "normalizers": []}
    j["decoder"] = bytelevel(True, True)
    bos = SPECIAL_DEEPSEEK[0][0]
    j["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": bos, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": bos, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
        "special_tokens": {bos: {"id": bos, "ids": [v], "tokens": [bos]}}}
    # DeepSeek's file stores merges as "a b" strings (the older serialisation).
    j["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in j["model"]["merges"]]
    j["model"]["ignore_merges"] = False
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": {"__type": "AddedToken", "content": bos},
              "clean_up_tokenization_spaces": False, "eos_token": {"__type": "AddedToken",
                                                                   "content": SPECIAL_DEEPSEEK[1][0]},
              "legacy": True, "model_max_length": 16384, "pad_token": None, "sp_model_kwargs": {},
              "unk_token": None, "tokenizer_class": "LlamaTokenizer", "use_default_system_prompt": True}
    return j, config


def make_gpt2():
    j = train(pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True), 800)
    v = len(j["model"]["vocab"])
    j["added_tokens"] = [added(v, "<|endoftext|>")]
    j["pre_tokenizer"] = bytelevel(True)
    j["post_processor"] = bytelevel(True)
    j["decoder"] = bytelevel(True)
    j["model"]["merges"] = [list(m.split(" ")) if isinstance(m, str) else m for m in j["model"]["merges"]]
    return j, {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}


def make_llama3():
    pres = pre_tokenizers.Sequence([split(LLAMA3_REGEX), pre_tokenizers.ByteLevel(add_prefix_space=False,
                                                                                  use_regex=False)])
    j = train(pres, 1000)
    v = len(j["model"]["vocab"])
    names = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>", "<|start_header_id|>",
             "<|end_header_id|>", "<|eot_id|>"]
    j["added_tokens"] = [added(v + k, c) for k, c in enumerate(names)]
    j["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
        bytelevel(False)]}
    j["post_processor"] = {"type": "Sequence", "processors": [
        bytelevel(False),
        {"type": "TemplateProcessing",
         "single": [{"SpecialToken": {"id": names[0], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
         "pair": [{"SpecialToken": {"id": names[0], "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                  {"SpecialToken": {"id": names[0], "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
         "special_tokens": {names[0]: {"id": names[0], "ids": [v], "tokens": [names[0]]}}}]}
    j["decoder"] = bytelevel(True)
    j["model"]["ignore_merges"] = True
    j["model"]["merges"] = [list(m.split(" ")) if isinstance(m, str) else m for m in j["model"]["merges"]]
    return j, {"bos_token": names[0], "eos_token": names[5]}


def random_text(rng, n):
    """Random code points from ranges that exercise the pre-tokenizers."""
    pools = [(0x20, 0x7e), (0x09, 0x0d), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x300, 0x36f),
             (0x600, 0x6ff), (0x800, 0x83f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2150, 0x218f),
             (0x3000, 0x303f), (0x3040, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xff00, 0xffef),
             (0x10400, 0x1044f), (0x1f300, 0x1faff), (0x1d400, 0x1d7ff), (0xe000, 0xe0ff)]
    out = []
    for _ in range(n):
        lo, hi = rng.choice(pools)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def test_strings(specials, n_prompts):
    s = [
        "", " ", "  ", "a", "Hello", "Hello, how are you?", "Hello world", " Hello world", "Hello  world ",
        "   leading and trailing   ", "multiple   internal    spaces", "tabs\tand\nnewlines\r\nmixed\n\n\n",
        "\n", "\r\n", "\t\t x", "end with newline\n", "ends with spaces   ", "a \n b", " \n\n ",
        "!!!???...---", "(parens) [brackets] {braces} <angles>", "don't it's we've they'll I'd I'm you're",
        "DON'T IT'S WE'VE THEY'LL", "12345", "3.14159", "1,000,000", "a1b22c333d4444", "digits: ٣٤٥ ⅷ ½ ²",
        "你好，世界！", "这是一个测试。", "日本語のテキスト", "カタカナ", "한국어 텍스트", "Россия", "Ελληνικά",
        "Café naïve", "e\u0301 combining a\u0308o\u0308", "ｆｕｌｌｗｉｄｔｈ　ｓｐａｃｅ！", "😀👍🏽🇺🇸❤️",
        "emoji 🎨 in 🖼️ text", "nbsp\u00a0here", "ideographic\u3000space", "line\u2028sep", "nel\u0085x",
        "zero\u200bwidth", "tab\tat\tends\t", "\u00b5 micro \u2126 ohm \u212a kelvin", "ſ long s 's 'S 'ſ",
        "øöú ÿõ÷ûý ÀùÁþü", "x ø y", "The year 2024 was 365 days", "a" * 300, "ab" * 200 + " " * 50,
        " " * 40 + "x", "x" + "\n" * 30, "مرحبا بالعالم", "ℌ𝔢𝔩𝔩𝔬 𝐛𝐨𝐥𝐝", "𐐀𐐁𐐂 deseret", "ABC123def456",
    ]
    for t in specials:
        s += [t, "x" + t + "y", " " + t + " ", t + t, "a " + t + "b"]
    s += ["<|User|>: a red apple\n\n<|Assistant|>:<begin_of_image>", "<|User|>:<|Assistant|>:",
          "<｜begin▁of▁sentence｜>Hello<｜end▁of▁sentence｜>", "<｜▁pad▁｜><｜▁pad▁｜> pad", "<|endoftext|>x",
          "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>", "<|User", "<begin_of_image"]
    s += MULTI
    with open(PROMPTS) as f:
        prompts = [json.loads(line)["prompt"] for line in f]
    rng = random.Random(1234)
    chosen = rng.sample(prompts, 200)
    s += chosen[:n_prompts]
    s += ["<|User|>: " + p.strip() + "\n\n<|Assistant|>:<begin_of_image>" for p in chosen[:n_prompts // 4]]
    s += [random_text(rng, rng.randint(1, 60)) for _ in range(60)]
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    cases = {}
    # All 200 sampled T2I-R1 prompts go through the DeepSeek shape; 40 through the others.
    for name, make, n_prompts in [("deepseek", make_deepseek, 200), ("gpt2", make_gpt2, 40),
                                  ("llama3", make_llama3, 40)]:
        j, config = make()
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "tokenizer.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(j, f, ensure_ascii=False, indent=None, separators=(",", ":"))
        with open(os.path.join(d, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, ensure_ascii=False, indent=2)
        tok = Tokenizer.from_file(path)
        specials = [a["content"] for a in j["added_tokens"]]
        rows = []
        for text in test_strings(specials, n_prompts):
            with_special = tok.encode(text).ids
            plain = tok.encode(text, add_special_tokens=False).ids
            rows.append({"text": text, "ids": with_special, "ids_plain": plain,
                         "decoded": tok.decode(with_special, skip_special_tokens=False),
                         "decoded_skip": tok.decode(with_special, skip_special_tokens=True)})
        cases[name] = {"vocab_size": tok.get_vocab_size(with_added_tokens=True), "cases": rows}
        print(name, "vocab", tok.get_vocab_size(), "cases", len(rows))
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
