// test_config.c: config.json lookups and the LLaMA config in each layout
// (tests/golden/safetensors/*/config.json, written by make_safetensors.py):
// LlamaConfig defaults for missing fields, dotted paths, wrong types.
#include <stdint.h>

#include "check.h"
#include "io/config.h"

#define FIX "tests/golden/safetensors/"

static bc_config *parse(const char *text, bc_err *err) { return bc_config_parse(text, strlen(text), "c.json", err); }

static void test_defaults(void) {
    bc_err err = {""};
    bc_config *cfg = parse("{}", &err);
    bc_llama_config c;
    CHECK(cfg && bc_llama_config_read(cfg, "", &c, &err) == 0, "{} reads as a LLaMA config: %s", err.msg);
    CHECK(c.vocab_size == 32000 && c.hidden_size == 4096 && c.intermediate_size == 11008, "default sizes");
    CHECK(c.num_hidden_layers == 32 && c.num_attention_heads == 32 && c.num_key_value_heads == 32, "default layers, heads");
    CHECK(c.head_dim == 128 && c.max_position_embeddings == 2048, "default head_dim, max positions");
    CHECK(c.rms_norm_eps == 1e-6 && c.rope_theta == 10000.0, "default eps, theta");
    CHECK_STR(c.hidden_act, "silu", "default activation");
    CHECK(!c.tie_word_embeddings && !c.attention_bias && !c.mlp_bias, "default flags false");
    CHECK(c.bos_token_id == -1 && c.eos_token_id == -1 && c.pad_token_id == -1, "token ids absent");
    CHECK_STR(c.rope_scaling, "", "no rope scaling");
    bc_config_free(cfg);

    // num_key_value_heads and head_dim follow the heads when absent.
    cfg = parse("{\"hidden_size\": 96, \"num_attention_heads\": 6, \"num_key_value_heads\": null}", &err);
    CHECK(cfg && bc_llama_config_read(cfg, "", &c, &err) == 0, "derived fields: %s", err.msg);
    CHECK(c.num_key_value_heads == 6 && c.head_dim == 16, "kv heads = heads, head_dim = hidden / heads");
    bc_config_free(cfg);
}

static void test_janus_original(void) {
    bc_err err = {""};
    bc_config *cfg = bc_config_load(FIX "janus_orig", &err);
    if (!CHECK(cfg != NULL, "load the original Janus config from its directory: %s", err.msg)) return;
    CHECK_STR(bc_config_name(cfg), FIX "janus_orig/config.json", "its name is the file");
    bc_llama_config c;
    CHECK(bc_llama_config_find(cfg, &c, &err) == 0, "find the LLaMA config: %s", err.msg);
    CHECK_STR(c.section, "language_config", "in language_config");
    // Janus-Pro-7B: layers, vocab and positions from the file; the rest LlamaConfig's.
    CHECK(c.num_hidden_layers == 30 && c.vocab_size == 102400 && c.max_position_embeddings == 16384,
          "fields from the file");
    CHECK(c.hidden_size == 4096 && c.intermediate_size == 11008 && c.num_attention_heads == 32 &&
              c.num_key_value_heads == 32 && c.head_dim == 128,
          "7B sizes from the defaults");
    CHECK(c.rms_norm_eps == 1e-6 && c.rope_theta == 10000.0, "eps and theta from the defaults");
    CHECK_STR(c.torch_dtype, "bfloat16", "torch_dtype");
    CHECK_STR(bc_config_str(cfg, "model_type", ""), "multi_modality", "model_type");
    CHECK_STR(bc_config_str(cfg, "architectures.0", ""), "MultiModalityCausalLM", "architectures.0");
    CHECK(bc_config_int(cfg, "gen_head_config.params.image_token_size", -1) == 16384, "a nested int");
    CHECK_STR(bc_config_str(cfg, "vision_config.params.model_name", ""), "siglip_large_patch16_384", "a nested string");
    bc_config_free(cfg);
}

static void test_janus_port(void) {
    bc_err err = {""};
    bc_config *cfg = bc_config_load(FIX "sharded/config.json", &err);
    if (!CHECK(cfg != NULL, "load the transformers-port config: %s", err.msg)) return;
    bc_llama_config c;
    CHECK(bc_llama_config_find(cfg, &c, &err) == 0, "find the LLaMA config: %s", err.msg);
    CHECK_STR(c.section, "text_config", "in text_config");
    CHECK(c.hidden_size == 8 && c.intermediate_size == 12 && c.num_hidden_layers == 1 && c.vocab_size == 16,
          "sizes");
    CHECK(c.num_attention_heads == 2 && c.num_key_value_heads == 2 && c.head_dim == 4, "heads");
    CHECK(c.max_position_embeddings == 64 && c.rms_norm_eps == 1e-6 && c.rope_theta == 10000.0, "positions, eps, theta");
    CHECK(c.bos_token_id == 100000 && c.eos_token_id == 100001 && c.pad_token_id == 100002, "token ids");
    CHECK_STR(c.rope_scaling, "", "rope_scaling null");
    CHECK(bc_config_int(cfg, "text_config.hidden_size", -1) == 8, "bc_config_int by dotted path");
    CHECK(bc_config_int(cfg, "text_config.nope", -1) == -1, "absent -> default");
    CHECK(bc_config_int(cfg, "text_config.hidden_act", -7) == -7, "wrong type -> default (lenient getter)");
    CHECK(bc_config_double(cfg, "text_config.rope_theta", 0) == 10000.0, "a double");
    CHECK(bc_config_double(cfg, "text_config.vocab_size", 0) == 16.0, "an integer read as a double");
    CHECK(bc_config_bool(cfg, "text_config.mlp_bias", 1) == 0, "a bool");
    CHECK(!bc_config_has(cfg, "text_config.rope_scaling"), "null counts as absent");
    CHECK(bc_config_has(cfg, "vq_config"), "an object is present");
    CHECK(bc_config_lookup(cfg, "architectures.1") == NULL, "past the end of an array");
    CHECK(bc_config_lookup(cfg, "architectures.x") == NULL, "a non-number index into an array");
    CHECK(bc_config_lookup(cfg, "") != NULL, "\"\" is the root");
    bc_config_free(cfg);
}

static void test_llama(void) {
    bc_err err = {""};
    bc_config *cfg = bc_config_load(FIX "llama/config.json", &err);
    if (!CHECK(cfg != NULL, "load a llama config: %s", err.msg)) return;
    bc_llama_config c;
    CHECK(bc_llama_config_find(cfg, &c, &err) == 0, "find: %s", err.msg);
    CHECK_STR(c.section, "", "at the top level");
    CHECK(c.hidden_size == 48 && c.num_attention_heads == 6 && c.num_key_value_heads == 2 && c.head_dim == 8,
          "GQA: 6 heads, 2 kv heads, head_dim 8");
    CHECK(c.rms_norm_eps == 1e-5 && c.rope_theta == 500000.0 && c.tie_word_embeddings, "eps, theta, tied");
    CHECK(c.bos_token_id == 1 && c.eos_token_id == 2, "eos list keeps its first id");
    CHECK_STR(c.rope_scaling, "llama3", "rope_scaling type");
    bc_config_free(cfg);

    // A config without model_type, found by its fields.
    cfg = parse("{\"hidden_size\": 64, \"num_attention_heads\": 4}", &err);
    CHECK(cfg && bc_llama_config_find(cfg, &c, &err) == 0 && c.head_dim == 16, "top level without model_type");
    bc_config_free(cfg);
}

// Each config fails with a message containing `want`.
static void test_errors(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"{\"model_type\": \"llama\", \"hidden_size\": \"4096\"}", "c.json: 'hidden_size': expected an integer, got string \"4096\""},
        {"{\"model_type\": \"janus\", \"text_config\": {\"num_hidden_layers\": 2.5}}",
         "'text_config.num_hidden_layers': expected an integer, got number 2.5"},
        {"{\"model_type\": \"multi_modality\", \"language_config\": {\"rms_norm_eps\": \"1e-6\"}}",
         "'language_config.rms_norm_eps': expected a number, got string \"1e-6\""},
        {"{\"model_type\": \"llama\", \"tie_word_embeddings\": 1}", "'tie_word_embeddings': expected true or false, got integer 1"},
        {"{\"model_type\": \"llama\", \"hidden_act\": [\"silu\"]}", "'hidden_act': expected a string, got an array"},
        {"{\"model_type\": \"llama\", \"eos_token_id\": \"</s>\"}", "'eos_token_id': expected an integer or a list of integers"},
        {"{\"model_type\": \"llama\", \"rope_scaling\": 2}", "'rope_scaling': expected an object or null, got integer 2"},
        {"{\"model_type\": \"janus\", \"text_config\": 5}", "'text_config': expected an object, got integer 5"},
        {"{\"model_type\": 5}", "'model_type': expected a string, got integer 5"},
        {"{\"model_type\": \"llama\", \"num_attention_heads\": 32, \"num_key_value_heads\": 5}",
         "'num_key_value_heads' (5) does not divide num_attention_heads (32)"},
        {"{\"model_type\": \"llama\", \"hidden_size\": 100, \"num_attention_heads\": 3}",
         "'hidden_size' (100) is not a multiple of num_attention_heads (3)"},
        {"{\"model_type\": \"llama\", \"num_hidden_layers\": 0}", "'num_hidden_layers' is 0, expected a positive integer"},
        {"{\"model_type\": \"llama\", \"rms_norm_eps\": -1}", "'rms_norm_eps' is -1, expected a positive number"},
        {"{\"model_type\": \"clip\"}", "no LLaMA config found (model_type 'clip'"},
        {"{\"model_type\": \"janus\", \"text_config\": {\"model_type\": \"qwen2\"}}",
         "no LLaMA config found (model_type 'janus'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bc_err err = {""};
        bc_config *cfg = parse(cases[i].text, &err);
        bc_llama_config c;
        CHECK(cfg && bc_llama_config_find(cfg, &c, &err) < 0, "refused: %s", cases[i].text);
        CHECK_CONTAINS(err.msg, cases[i].want, "  message");
        bc_config_free(cfg);
    }

    bc_err err = {""};
    int64_t v = 0;
    bc_config *cfg = parse("{\"a\": {\"b\": \"x\"}}", &err);
    CHECK(bc_config_get_int(cfg, "a.b", &v, &err) == -1, "checked getter: wrong type is -1");
    CHECK_CONTAINS(err.msg, "'a.b': expected an integer", "  message names the dotted path");
    CHECK(bc_config_get_int(cfg, "a.c", &v, &err) == 0 && v == 0, "checked getter: absent is 0, value untouched");
    bc_config_free(cfg);

    CHECK(parse("{\"a\": ", &err) == NULL, "truncated JSON refused");
    CHECK_CONTAINS(err.msg, "c.json: not valid JSON", "  message");
    CHECK(parse("[1]", &err) == NULL, "a top-level array refused");
    CHECK_CONTAINS(err.msg, "expected a JSON object, got an array", "  message");
    CHECK(bc_config_load(FIX "nope.json", &err) == NULL, "a missing file refused");
    CHECK_CONTAINS(err.msg, FIX "nope.json: No such file", "  message");
}

int main(void) {
    test_defaults();
    test_janus_original();
    test_janus_port();
    test_llama();
    test_errors();
    return check_done();
}
