// config.c: config.json lookups and the LLaMA config (see config.h).
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct bc_config {
    char *name;
    json_t *root;
};

bc_config *bc_config_parse(const char *text, size_t len, const char *name, bc_err *err) {
    json_error_t jerr;
    // Duplicate keys are accepted, the last one winning, as Python's json does.
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        bc_fail(err, "%s: not valid JSON: %s (line %d, column %d)", name, jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        char desc[96];
        bc_json_describe(root, desc, sizeof desc);
        json_decref(root);
        bc_fail(err, "%s: expected a JSON object, got %s", name, desc);
        return NULL;
    }
    bc_config *cfg = bc_calloc(1, sizeof *cfg);
    cfg->name = bc_strdup(name);
    cfg->root = root;
    return cfg;
}

bc_config *bc_config_load(const char *path, bc_err *err) {
    char *file = bc_is_dir(path) ? bc_path_join(path, "config.json") : bc_strdup(path);
    uint8_t *text;
    size_t len;
    bc_config *cfg = NULL;
    if (bc_read_file(file, &text, &len, err) == 0) {
        cfg = bc_config_parse((const char *)text, len, file, err);
        free(text);
    }
    free(file);
    return cfg;
}

void bc_config_free(bc_config *cfg) {
    if (!cfg) return;
    json_decref(cfg->root);
    free(cfg->name);
    free(cfg);
}

const char *bc_config_name(const bc_config *cfg) { return cfg->name; }

// Array index from a path component of digits only; -1 otherwise.
static long array_index(const char *s, size_t n) {
    if (n == 0 || n > 9) return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) return -1;
        v = 10 * v + (s[i] - '0');
    }
    return v;
}

json_t *bc_config_lookup(const bc_config *cfg, const char *path) {
    json_t *v = cfg->root;
    const char *p = path;
    while (v && *p) {
        size_t n = strcspn(p, ".");
        if (json_is_object(v)) {
            char *key = bc_strndup(p, n);
            v = json_object_get(v, key);
            free(key);
        } else if (json_is_array(v) && array_index(p, n) >= 0) {
            v = json_array_get(v, (size_t)array_index(p, n));
        } else {
            v = NULL;
        }
        p += n;
        if (*p == '.') p++;
    }
    return v;
}

int bc_config_has(const bc_config *cfg, const char *path) {
    json_t *v = bc_config_lookup(cfg, path);
    return v && !json_is_null(v);
}

void bc_json_describe(const json_t *v, char *buf, size_t size) {
    if (!v) {
        snprintf(buf, size, "nothing");
        return;
    }
    switch (json_typeof(v)) {
    case JSON_OBJECT: snprintf(buf, size, "an object"); break;
    case JSON_ARRAY: snprintf(buf, size, "an array"); break;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        snprintf(buf, size, "string \"%.40s%s\"", s, n > 40 ? "..." : "");
        break;
    }
    case JSON_INTEGER: snprintf(buf, size, "integer %lld", (long long)json_integer_value(v)); break;
    case JSON_REAL: snprintf(buf, size, "number %g", json_real_value(v)); break;
    case JSON_TRUE: snprintf(buf, size, "true"); break;
    case JSON_FALSE: snprintf(buf, size, "false"); break;
    case JSON_NULL: snprintf(buf, size, "null"); break;
    }
}

static int wrong_type(const bc_config *cfg, const char *path, const char *want, const json_t *got, bc_err *err) {
    char desc[96];
    bc_json_describe(got, desc, sizeof desc);
    return bc_fail(err, "%s: '%s': expected %s, got %s", cfg->name, path, want, desc);
}

// The value at path, or NULL when absent or null.
static json_t *present(const bc_config *cfg, const char *path) {
    json_t *v = bc_config_lookup(cfg, path);
    return v && !json_is_null(v) ? v : NULL;
}

// An integer, or a real holding one exactly (2^63 itself is out of range).
static int integer_of(const json_t *v, int64_t *out) {
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9.2e18) {
            *out = (int64_t)d;
            return 0;
        }
    }
    return -1;
}

int bc_config_get_int(const bc_config *cfg, const char *path, int64_t *out, bc_err *err) {
    json_t *v = present(cfg, path);
    if (!v) return 0;
    if (integer_of(v, out) < 0) return wrong_type(cfg, path, "an integer", v, err);
    return 1;
}

int bc_config_get_double(const bc_config *cfg, const char *path, double *out, bc_err *err) {
    json_t *v = present(cfg, path);
    if (!v) return 0;
    if (!json_is_number(v)) return wrong_type(cfg, path, "a number", v, err);
    *out = json_number_value(v);
    return 1;
}

int bc_config_get_bool(const bc_config *cfg, const char *path, int *out, bc_err *err) {
    json_t *v = present(cfg, path);
    if (!v) return 0;
    if (!json_is_boolean(v)) return wrong_type(cfg, path, "true or false", v, err);
    *out = json_is_true(v);
    return 1;
}

int bc_config_get_str(const bc_config *cfg, const char *path, const char **out, bc_err *err) {
    json_t *v = present(cfg, path);
    if (!v) return 0;
    if (!json_is_string(v)) return wrong_type(cfg, path, "a string", v, err);
    *out = json_string_value(v);
    return 1;
}

int64_t bc_config_int(const bc_config *cfg, const char *path, int64_t def) {
    int64_t v = 0;
    return bc_config_get_int(cfg, path, &v, NULL) == 1 ? v : def;
}

double bc_config_double(const bc_config *cfg, const char *path, double def) {
    double v = 0;
    return bc_config_get_double(cfg, path, &v, NULL) == 1 ? v : def;
}

int bc_config_bool(const bc_config *cfg, const char *path, int def) {
    int v = 0;
    return bc_config_get_bool(cfg, path, &v, NULL) == 1 ? v : def;
}

const char *bc_config_str(const bc_config *cfg, const char *path, const char *def) {
    const char *v = NULL;
    return bc_config_get_str(cfg, path, &v, NULL) == 1 ? v : def;
}

// ---- LLaMA ----------------------------------------------------------------

void bc_llama_config_defaults(bc_llama_config *c) {
    // transformers LlamaConfig.__init__ defaults.
    memset(c, 0, sizeof *c);
    c->vocab_size = 32000;
    c->hidden_size = 4096;
    c->intermediate_size = 11008;
    c->num_hidden_layers = 32;
    c->num_attention_heads = 32;
    c->num_key_value_heads = 32;
    c->head_dim = 4096 / 32;
    c->max_position_embeddings = 2048;
    c->rms_norm_eps = 1e-6;
    c->rope_theta = 10000.0;
    snprintf(c->hidden_act, sizeof c->hidden_act, "silu");
    c->bos_token_id = c->eos_token_id = c->pad_token_id = -1;
    c->section = "";
}

// The full dotted path of a field of the section, into buf.
static const char *field_path(char *buf, size_t size, const char *section, const char *field) {
    snprintf(buf, size, "%s%s%s", section, *section ? "." : "", field);
    return buf;
}

// Reads section.field into *out when present; -1 on a wrong type.
static int read_int(const bc_config *cfg, const char *section, const char *field, int64_t *out, bc_err *err) {
    char path[160];
    return bc_config_get_int(cfg, field_path(path, sizeof path, section, field), out, err) < 0 ? -1 : 0;
}

static int read_double(const bc_config *cfg, const char *section, const char *field, double *out, bc_err *err) {
    char path[160];
    return bc_config_get_double(cfg, field_path(path, sizeof path, section, field), out, err) < 0 ? -1 : 0;
}

static int read_bool(const bc_config *cfg, const char *section, const char *field, int *out, bc_err *err) {
    char path[160];
    return bc_config_get_bool(cfg, field_path(path, sizeof path, section, field), out, err) < 0 ? -1 : 0;
}

// A string into a fixed buffer; too long for it is an error too.
static int read_str(const bc_config *cfg, const char *section, const char *field, char *out, size_t size,
                    bc_err *err) {
    char path[160];
    const char *s;
    int found = bc_config_get_str(cfg, field_path(path, sizeof path, section, field), &s, err);
    if (found < 0) return -1;
    if (!found) return 0;
    if (strlen(s) >= size)
        return bc_fail(err, "%s: '%s': \"%.40s\" is longer than the %zu characters expected", cfg->name, path, s,
                       size - 1);
    snprintf(out, size, "%s", s);
    return 0;
}

// A token id: an integer, or a list of them (its first is kept); -1 when absent.
static int read_token_id(const bc_config *cfg, const char *section, const char *field, int64_t *out, bc_err *err) {
    char path[160];
    field_path(path, sizeof path, section, field);
    json_t *v = present(cfg, path);
    if (!v) return 0;
    if (json_is_array(v) && json_array_size(v) > 0) v = json_array_get(v, 0);
    if (integer_of(v, out) < 0) return wrong_type(cfg, path, "an integer or a list of integers", v, err);
    return 0;
}

// rope_scaling: null, or an object naming its kind in "rope_type" (or the older "type").
static int read_rope_scaling(const bc_config *cfg, const char *section, bc_llama_config *c, bc_err *err) {
    char path[160];
    json_t *v = present(cfg, field_path(path, sizeof path, section, "rope_scaling"));
    if (!v) return 0;
    if (!json_is_object(v)) return wrong_type(cfg, path, "an object or null", v, err);
    const char *kind = json_string_value(json_object_get(v, "rope_type"));
    if (!kind) kind = json_string_value(json_object_get(v, "type"));
    snprintf(c->rope_scaling, sizeof c->rope_scaling, "%s", kind ? kind : "unknown");
    return 0;
}

// transformers 5 writes "rope_parameters": {"rope_theta": ..., "rope_type":
// "default" | "linear" | ...} in place of rope_theta and rope_scaling.
static int read_rope_parameters(const bc_config *cfg, const char *section, bc_llama_config *c, bc_err *err) {
    char path[160];
    json_t *v = present(cfg, field_path(path, sizeof path, section, "rope_parameters"));
    if (!v) return 0;
    if (!json_is_object(v)) return wrong_type(cfg, path, "an object or null", v, err);
    json_t *theta = json_object_get(v, "rope_theta");
    if (theta && !present(cfg, field_path(path, sizeof path, section, "rope_theta"))) {
        field_path(path, sizeof path, section, "rope_parameters.rope_theta");
        if (!json_is_number(theta)) return wrong_type(cfg, path, "a number", theta, err);
        c->rope_theta = json_number_value(theta);
    }
    const char *kind = json_string_value(json_object_get(v, "rope_type"));
    if (kind && strcmp(kind, "default") != 0 && !c->rope_scaling[0])
        snprintf(c->rope_scaling, sizeof c->rope_scaling, "%s", kind);
    return 0;
}

// Sizes must be positive and the heads must split evenly.
static int check_llama(const bc_config *cfg, const char *section, const bc_llama_config *c, bc_err *err) {
    const struct {
        const char *field;
        int64_t value;
    } sizes[] = {
        {"vocab_size", c->vocab_size},
        {"hidden_size", c->hidden_size},
        {"intermediate_size", c->intermediate_size},
        {"num_hidden_layers", c->num_hidden_layers},
        {"num_attention_heads", c->num_attention_heads},
        {"num_key_value_heads", c->num_key_value_heads},
        {"head_dim", c->head_dim},
        {"max_position_embeddings", c->max_position_embeddings},
    };
    char path[160];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].value <= 0)
            return bc_fail(err, "%s: '%s' is %lld, expected a positive integer", cfg->name,
                           field_path(path, sizeof path, section, sizes[i].field), (long long)sizes[i].value);
    if (c->num_attention_heads % c->num_key_value_heads != 0)
        return bc_fail(err, "%s: '%s' (%lld) does not divide num_attention_heads (%lld)", cfg->name,
                       field_path(path, sizeof path, section, "num_key_value_heads"),
                       (long long)c->num_key_value_heads, (long long)c->num_attention_heads);
    if (!(c->rms_norm_eps > 0))
        return bc_fail(err, "%s: '%s' is %g, expected a positive number", cfg->name,
                       field_path(path, sizeof path, section, "rms_norm_eps"), c->rms_norm_eps);
    if (!(c->rope_theta > 0))
        return bc_fail(err, "%s: '%s' is %g, expected a positive number", cfg->name,
                       field_path(path, sizeof path, section, "rope_theta"), c->rope_theta);
    return 0;
}

int bc_llama_config_read(const bc_config *cfg, const char *section, bc_llama_config *c, bc_err *err) {
    bc_llama_config_defaults(c);
    c->section = section;
    json_t *obj = present(cfg, section);
    if (obj && !json_is_object(obj)) return wrong_type(cfg, section, "an object", obj, err);

    // num_key_value_heads and head_dim default to values derived from the others.
    c->num_key_value_heads = c->head_dim = -1;
    if (read_int(cfg, section, "vocab_size", &c->vocab_size, err) < 0 ||
        read_int(cfg, section, "hidden_size", &c->hidden_size, err) < 0 ||
        read_int(cfg, section, "intermediate_size", &c->intermediate_size, err) < 0 ||
        read_int(cfg, section, "num_hidden_layers", &c->num_hidden_layers, err) < 0 ||
        read_int(cfg, section, "num_attention_heads", &c->num_attention_heads, err) < 0 ||
        read_int(cfg, section, "num_key_value_heads", &c->num_key_value_heads, err) < 0 ||
        read_int(cfg, section, "head_dim", &c->head_dim, err) < 0 ||
        read_int(cfg, section, "max_position_embeddings", &c->max_position_embeddings, err) < 0 ||
        read_double(cfg, section, "rms_norm_eps", &c->rms_norm_eps, err) < 0 ||
        read_double(cfg, section, "rope_theta", &c->rope_theta, err) < 0 ||
        read_str(cfg, section, "hidden_act", c->hidden_act, sizeof c->hidden_act, err) < 0 ||
        read_bool(cfg, section, "tie_word_embeddings", &c->tie_word_embeddings, err) < 0 ||
        read_bool(cfg, section, "attention_bias", &c->attention_bias, err) < 0 ||
        read_bool(cfg, section, "mlp_bias", &c->mlp_bias, err) < 0 ||
        read_rope_scaling(cfg, section, c, err) < 0 || read_rope_parameters(cfg, section, c, err) < 0 ||
        read_str(cfg, section, "torch_dtype", c->torch_dtype, sizeof c->torch_dtype, err) < 0 ||
        read_token_id(cfg, section, "bos_token_id", &c->bos_token_id, err) < 0 ||
        read_token_id(cfg, section, "eos_token_id", &c->eos_token_id, err) < 0 ||
        read_token_id(cfg, section, "pad_token_id", &c->pad_token_id, err) < 0)
        return -1;
    // Newer transformers writes "dtype" instead of "torch_dtype".
    if (!c->torch_dtype[0] && read_str(cfg, section, "dtype", c->torch_dtype, sizeof c->torch_dtype, err) < 0)
        return -1;

    if (c->num_key_value_heads == -1) c->num_key_value_heads = c->num_attention_heads;
    if (c->head_dim == -1) {
        char path[160];
        if (c->num_attention_heads > 0 && c->hidden_size % c->num_attention_heads != 0)
            return bc_fail(err,
                           "%s: '%s' (%lld) is not a multiple of num_attention_heads (%lld), and no head_dim is given",
                           cfg->name, field_path(path, sizeof path, section, "hidden_size"),
                           (long long)c->hidden_size, (long long)c->num_attention_heads);
        c->head_dim = c->num_attention_heads > 0 ? c->hidden_size / c->num_attention_heads : 0;
    }
    return check_llama(cfg, section, c, err);
}

const char *bc_llama_config_section(const bc_config *cfg) {
    const char *model_type = bc_config_str(cfg, "model_type", "");
    // The model types we know say where the section is; otherwise guess from what is there.
    const char *section;
    if (strcmp(model_type, "multi_modality") == 0) section = "language_config";
    else if (strcmp(model_type, "janus") == 0) section = "text_config";
    else if (strcmp(model_type, "llama") == 0) return "";
    else if (json_is_object(bc_config_lookup(cfg, "language_config"))) section = "language_config";
    else if (json_is_object(bc_config_lookup(cfg, "text_config"))) section = "text_config";
    else if (bc_config_has(cfg, "hidden_size") && bc_config_has(cfg, "num_attention_heads")) return "";
    else return NULL;
    // A section that names its own model type must be a LLaMA.
    char path[160];
    const char *sub_type = bc_config_str(cfg, field_path(path, sizeof path, section, "model_type"), "llama");
    return strcmp(sub_type, "llama") == 0 ? section : NULL;
}

int bc_llama_config_find(const bc_config *cfg, bc_llama_config *c, bc_err *err) {
    const char *model_type = "";
    if (bc_config_get_str(cfg, "model_type", &model_type, err) < 0) return -1;
    const char *section = bc_llama_config_section(cfg);
    if (!section)
        return bc_fail(err, "%s: no LLaMA config found (model_type '%s'; looked for language_config, text_config "
                            "and a top-level hidden_size, of model_type llama where they name one)",
                       cfg->name, model_type);
    return bc_llama_config_read(cfg, section, c, err);
}
