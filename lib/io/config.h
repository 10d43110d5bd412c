// config.h: a model's config.json (as transformers writes it), read with
// jansson, and the LLaMA hyper-parameters every language model here needs.
//
// Values are looked up by dotted path: "text_config.hidden_size" walks
// objects, and a number walks arrays ("architectures.0"). A JSON null counts
// as absent, as transformers treats None. Two kinds of getters:
//   bc_config_int(cfg, "vocab_size", 32000)      absent or wrong type -> default
//   bc_config_get_int(cfg, "vocab_size", &v, err) 1 found, 0 absent, -1 wrong
//                                                 type (err names the field)
//
// Janus-Pro ships two layouts of the same model (reference/janus-pro-spec.md
// §1.2-1.3): the original ("model_type": "multi_modality") keeps the LLaMA
// config in `language_config`, and the 7B one omits most fields, which then
// take transformers' LlamaConfig defaults; the transformers port
// ("model_type": "janus") has it in `text_config`. bc_llama_config_find()
// accepts both, and a plain "llama" config at the top level.
#ifndef BICOT_CONFIG_H
#define BICOT_CONFIG_H

#include <jansson.h>
#include <stdint.h>

#include "../util.h"

typedef struct bc_config bc_config;

// Reads a config file, or DIR/config.json when path is a directory.
bc_config *bc_config_load(const char *path, bc_err *err);
// Parses JSON text; `name` is what messages call it (a path, usually).
bc_config *bc_config_parse(const char *text, size_t len, const char *name, bc_err *err);
void bc_config_free(bc_config *cfg);
// The name given at load/parse.
const char *bc_config_name(const bc_config *cfg);

// The value at a dotted path ("" is the root), or NULL. Owned by cfg.
json_t *bc_config_lookup(const bc_config *cfg, const char *path);
// 1 when the path holds a non-null value.
int bc_config_has(const bc_config *cfg, const char *path);

// Lenient getters: absent, null or of another type -> def.
// An integer getter also takes a real with an integral value (4096.0).
int64_t bc_config_int(const bc_config *cfg, const char *path, int64_t def);
double bc_config_double(const bc_config *cfg, const char *path, double def);   // integers too
int bc_config_bool(const bc_config *cfg, const char *path, int def);
const char *bc_config_str(const bc_config *cfg, const char *path, const char *def);  // owned by cfg

// Checked getters: 1 found (*out set), 0 absent or null (*out untouched),
// -1 present with another type: "config.json: 'text_config.hidden_size':
// expected an integer, got string \"4096\"".
int bc_config_get_int(const bc_config *cfg, const char *path, int64_t *out, bc_err *err);
int bc_config_get_double(const bc_config *cfg, const char *path, double *out, bc_err *err);
int bc_config_get_bool(const bc_config *cfg, const char *path, int *out, bc_err *err);
int bc_config_get_str(const bc_config *cfg, const char *path, const char **out, bc_err *err);

// Describes a JSON value for messages: `string "silu"`, `integer 5`, `an
// object`, `null`, or `nothing` for NULL.
void bc_json_describe(const json_t *v, char *buf, size_t size);

// ---- LLaMA ----------------------------------------------------------------

typedef struct {
    int64_t vocab_size;               // 32000
    int64_t hidden_size;              // 4096
    int64_t intermediate_size;        // 11008
    int64_t num_hidden_layers;        // 32
    int64_t num_attention_heads;      // 32
    int64_t num_key_value_heads;      // = num_attention_heads when absent
    int64_t head_dim;                 // = hidden_size / num_attention_heads when absent
    int64_t max_position_embeddings;  // 2048
    double rms_norm_eps;              // 1e-6
    double rope_theta;                // 10000
    char hidden_act[32];              // "silu"
    int tie_word_embeddings;          // false
    int attention_bias;               // false
    int mlp_bias;                     // false
    char rope_scaling[32];            // rope_scaling's "rope_type" (or "type"); "" when null/absent
    char torch_dtype[16];             // "bfloat16", ...; "" when absent
    // Token ids: -1 when absent or null (LlamaConfig's 1/2 are wrong for
    // most models; the tokenizer knows better). A list keeps its first id.
    int64_t bos_token_id, eos_token_id, pad_token_id;
    // Where it was found: "language_config", "text_config" or "" (top level).
    const char *section;
} bc_llama_config;

// LlamaConfig's defaults (with kv heads and head_dim already derived).
void bc_llama_config_defaults(bc_llama_config *c);
// Fills c from the object at `section` ("" = the root), defaults for every
// missing field; an absent section gives all defaults. Checks types and
// sanity (positive sizes, kv heads dividing heads, ...).
int bc_llama_config_read(const bc_config *cfg, const char *section, bc_llama_config *c, bc_err *err);
// Where the LLaMA config is: "language_config" (model_type multi_modality),
// "text_config" (janus), "" (llama, or a top level with hidden_size and
// num_attention_heads); for other model types whichever section exists. NULL
// when there is none, or the section names a model_type other than llama.
const char *bc_llama_config_section(const bc_config *cfg);
// Finds the LLaMA config (as above) and reads it; fails when there is none.
int bc_llama_config_find(const bc_config *cfg, bc_llama_config *c, bc_err *err);

#endif
