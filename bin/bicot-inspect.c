// bicot-inspect: what a model directory (or weights file) holds: its config,
// the LLaMA hyper-parameters found in it, every tensor, and totals. A quick
// look before pointing a tool at a download, and a check that we read it.
//
// Not a stream tool: it reads files named on the command line and prints
// text (or one JSON object with --json) on stdout.
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/config.h"
#include "io/weights.h"
#include "tool.h"
#include "util.h"

static const char usage[] =
    "usage: bicot-inspect [--json] DIR|FILE\n"
    "\n"
    "Lists what a model holds: config.json (model_type, architectures, the\n"
    "LLaMA config with LlamaConfig's defaults filled in), every tensor (name,\n"
    "dtype, shape, bytes) and totals per dtype.\n"
    "\n"
    "  DIR    a model directory: config.json + *.safetensors (sharded through\n"
    "         model.safetensors.index.json) or pytorch_model*.bin\n"
    "  FILE   one .safetensors / .bin / .pt / .pth file, or an *.index.json;\n"
    "         the config.json beside it is read when there is one\n"
    "  --json print one JSON object instead of text\n"
    "  --help this text; --version the build\n"
    "\n"
    "example:\n"
    "  bicot-inspect ~/models/Janus-Pro-1B | less\n"
    "\n"
    "exit: 0 ok, 1 usage, 2 unreadable model or config\n";

// The config.json of a model path: DIR/config.json, or the one beside FILE.
// *out stays NULL when there is none; a config that is there must parse.
static int load_config(const char *path, bc_config **out, bc_err *err) {
    char *file;
    if (bc_is_dir(path)) {
        file = bc_path_join(path, "config.json");
    } else {
        const char *slash = strrchr(path, '/');
        file = slash ? bc_asprintf("%.*s/config.json", (int)(slash - path), path) : bc_strdup("config.json");
    }
    *out = NULL;
    int rc = 0;
    if (access(file, F_OK) == 0) {
        *out = bc_config_load(file, err);
        if (!*out) rc = -1;
    }
    free(file);
    return rc;
}

// Totals over the tensors, overall and per dtype.
typedef struct {
    size_t tensors;
    uint64_t params, bytes;
} total;

static void count(const bc_weights *w, total *all, total per[BC_DT_COUNT]) {
    memset(all, 0, sizeof *all);
    memset(per, 0, BC_DT_COUNT * sizeof *per);
    for (size_t i = 0; i < bc_weights_count(w); i++) {
        const bc_tensor *t = bc_weights_at(w, i);
        total *p[2] = {all, &per[t->dtype]};
        for (int k = 0; k < 2; k++) {
            p[k]->tensors++;
            p[k]->params += t->numel;
            p[k]->bytes += t->nbytes;
        }
    }
}

// ---- JSON output ----------------------------------------------------------

static json_t *llama_json(const bc_llama_config *c) {
    json_t *o = json_object();
    json_object_set_new(o, "section", json_string(c->section));
    json_object_set_new(o, "vocab_size", json_integer(c->vocab_size));
    json_object_set_new(o, "hidden_size", json_integer(c->hidden_size));
    json_object_set_new(o, "intermediate_size", json_integer(c->intermediate_size));
    json_object_set_new(o, "num_hidden_layers", json_integer(c->num_hidden_layers));
    json_object_set_new(o, "num_attention_heads", json_integer(c->num_attention_heads));
    json_object_set_new(o, "num_key_value_heads", json_integer(c->num_key_value_heads));
    json_object_set_new(o, "head_dim", json_integer(c->head_dim));
    json_object_set_new(o, "max_position_embeddings", json_integer(c->max_position_embeddings));
    json_object_set_new(o, "rms_norm_eps", json_real(c->rms_norm_eps));
    json_object_set_new(o, "rope_theta", json_real(c->rope_theta));
    json_object_set_new(o, "hidden_act", json_string(c->hidden_act));
    json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tie_word_embeddings));
    json_object_set_new(o, "attention_bias", json_boolean(c->attention_bias));
    json_object_set_new(o, "mlp_bias", json_boolean(c->mlp_bias));
    json_object_set_new(o, "rope_scaling", c->rope_scaling[0] ? json_string(c->rope_scaling) : json_null());
    json_object_set_new(o, "torch_dtype", c->torch_dtype[0] ? json_string(c->torch_dtype) : json_null());
    json_object_set_new(o, "bos_token_id", c->bos_token_id >= 0 ? json_integer(c->bos_token_id) : json_null());
    json_object_set_new(o, "eos_token_id", c->eos_token_id >= 0 ? json_integer(c->eos_token_id) : json_null());
    json_object_set_new(o, "pad_token_id", c->pad_token_id >= 0 ? json_integer(c->pad_token_id) : json_null());
    return o;
}

static json_t *config_json(const bc_config *cfg, const bc_llama_config *llama) {
    if (!cfg) return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "path", json_string(bc_config_name(cfg)));
    const char *mt = bc_config_str(cfg, "model_type", NULL);
    json_object_set_new(o, "model_type", mt ? json_string(mt) : json_null());
    json_t *arch = bc_config_lookup(cfg, "architectures");
    json_object_set(o, "architectures", arch ? arch : json_null());
    json_object_set_new(o, "llama", llama ? llama_json(llama) : json_null());
    return o;
}

static json_t *total_json(const total *t) {
    json_t *o = json_object();
    json_object_set_new(o, "tensors", json_integer((json_int_t)t->tensors));
    json_object_set_new(o, "parameters", json_integer((json_int_t)t->params));
    json_object_set_new(o, "bytes", json_integer((json_int_t)t->bytes));
    return o;
}

static int print_json(const char *path, const bc_config *cfg, const bc_llama_config *llama, const bc_weights *w) {
    json_t *root = json_object();
    json_object_set_new(root, "path", json_string(path));
    json_object_set_new(root, "config", config_json(cfg, llama));
    json_t *files = json_array();
    for (size_t i = 0; i < bc_weights_file_count(w); i++)
        json_array_append_new(files, json_string(bc_weights_file(w, i)));
    json_object_set_new(root, "files", files);
    json_t *tensors = json_array();
    for (size_t i = 0; i < bc_weights_count(w); i++) {
        const bc_tensor *t = bc_weights_at(w, i);
        json_t *o = json_object(), *shape = json_array();
        for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
        json_object_set_new(o, "name", json_string(t->name));
        json_object_set_new(o, "dtype", json_string(bc_dtype_name(t->dtype)));
        json_object_set_new(o, "shape", shape);
        json_object_set_new(o, "bytes", json_integer((json_int_t)t->nbytes));
        json_object_set_new(o, "file", json_integer(t->file));
        json_array_append_new(tensors, o);
    }
    json_object_set_new(root, "tensors", tensors);
    total all, per[BC_DT_COUNT];
    count(w, &all, per);
    json_t *totals = total_json(&all), *dtypes = json_object();
    json_object_set_new(totals, "files", json_integer((json_int_t)bc_weights_file_count(w)));
    for (int d = 0; d < BC_DT_COUNT; d++)
        if (per[d].tensors) json_object_set_new(dtypes, bc_dtype_name((bc_dtype)d), total_json(&per[d]));
    json_object_set_new(totals, "dtypes", dtypes);
    json_object_set_new(root, "totals", totals);
    // 15 digits: "1e-06" rather than "9.9999999999999995e-07" for what people typed.
    int rc = json_dumpf(root, stdout, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    json_decref(root);
    putchar('\n');
    return rc;
}

// ---- text output ----------------------------------------------------------

static void print_config(const bc_config *cfg, const bc_llama_config *c) {
    if (!cfg) {
        printf("config: none\n");
        return;
    }
    printf("config: %s\n", bc_config_name(cfg));
    printf("  model_type: %s\n", bc_config_str(cfg, "model_type", "(none)"));
    printf("  architectures:");
    json_t *arch = bc_config_lookup(cfg, "architectures"), *a;
    size_t k;
    json_array_foreach(arch, k, a) printf(" %s", json_is_string(a) ? json_string_value(a) : "?");
    printf("%s\n", json_array_size(arch) ? "" : " (none)");
    if (!c) return;
    printf("  llama (%s): hidden_size %lld, intermediate_size %lld, layers %lld, heads %lld, kv_heads %lld, "
           "head_dim %lld,\n",
           c->section[0] ? c->section : "top level", (long long)c->hidden_size, (long long)c->intermediate_size,
           (long long)c->num_hidden_layers, (long long)c->num_attention_heads, (long long)c->num_key_value_heads,
           (long long)c->head_dim);
    printf("    vocab_size %lld, max_position_embeddings %lld, rms_norm_eps %g, rope_theta %g, hidden_act %s,\n",
           (long long)c->vocab_size, (long long)c->max_position_embeddings, c->rms_norm_eps, c->rope_theta,
           c->hidden_act);
    printf("    tie_word_embeddings %s, attention_bias %s, mlp_bias %s, rope_scaling %s, torch_dtype %s",
           c->tie_word_embeddings ? "true" : "false", c->attention_bias ? "true" : "false",
           c->mlp_bias ? "true" : "false", c->rope_scaling[0] ? c->rope_scaling : "none",
           c->torch_dtype[0] ? c->torch_dtype : "unset");
    const struct {
        const char *name;
        int64_t id;
    } ids[] = {{"bos", c->bos_token_id}, {"eos", c->eos_token_id}, {"pad", c->pad_token_id}};
    for (int i = 0; i < 3; i++)
        if (ids[i].id >= 0) printf(", %s %lld", ids[i].name, (long long)ids[i].id);
    printf("\n");
}

// "[3, 5, 7]"
static void format_shape(char *buf, size_t size, const bc_tensor *t) {
    size_t o = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < t->ndim && o < size; d++)
        o += (size_t)snprintf(buf + o, size - o, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (o < size) snprintf(buf + o, size - o, "]");
}

static void print_text(const char *path, const bc_config *cfg, const bc_llama_config *llama, const bc_weights *w) {
    printf("model: %s\n", path);
    print_config(cfg, llama);
    printf("files:\n");
    for (size_t i = 0; i < bc_weights_file_count(w); i++) printf("  %zu  %s\n", i, bc_weights_file(w, i));
    size_t width = 4;
    for (size_t i = 0; i < bc_weights_count(w); i++) {
        size_t n = strlen(bc_weights_at(w, i)->name);
        if (n > width) width = n;
    }
    printf("tensors:\n  %-*s  %-5s  %-20s  %12s  %s\n", (int)width, "name", "dtype", "shape", "bytes", "file");
    for (size_t i = 0; i < bc_weights_count(w); i++) {
        const bc_tensor *t = bc_weights_at(w, i);
        char shape[160];
        format_shape(shape, sizeof shape, t);
        printf("  %-*s  %-5s  %-20s  %12zu  %d\n", (int)width, t->name, bc_dtype_name(t->dtype), shape, t->nbytes,
               t->file);
    }
    total all, per[BC_DT_COUNT];
    count(w, &all, per);
    printf("totals: %zu tensors, %llu parameters, %llu bytes, %zu files\n", all.tensors,
           (unsigned long long)all.params, (unsigned long long)all.bytes, bc_weights_file_count(w));
    for (int d = 0; d < BC_DT_COUNT; d++)
        if (per[d].tensors)
            printf("  %-5s %zu tensors, %llu parameters, %llu bytes\n", bc_dtype_name((bc_dtype)d), per[d].tensors,
                   (unsigned long long)per[d].params, (unsigned long long)per[d].bytes);
}

int main(int argc, char **argv) {
    bc_set_progname(argv[0]);
    int json = 0;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return BC_EXIT_OK;
        } else if (strcmp(argv[i], "--version") == 0) {
            bc_print_build(stdout);
            return fflush(stdout) == 0 ? BC_EXIT_OK : BC_EXIT_FATAL;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            bc_die(BC_EXIT_USAGE, "unknown option '%s' (see --help)", argv[i]);
        } else if (path) {
            bc_die(BC_EXIT_USAGE, "one model at a time: '%s' and '%s' (see --help)", path, argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path) bc_die(BC_EXIT_USAGE, "no model given (see --help)");

    bc_err err = {""};
    bc_config *cfg;
    if (load_config(path, &cfg, &err) < 0) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    // The LLaMA config is shown when there is one (a CLIP or VQ model has
    // none); when there is one, it must read.
    bc_llama_config llama, *llama_p = NULL;
    if (cfg && bc_llama_config_section(cfg)) {
        if (bc_llama_config_find(cfg, &llama, &err) < 0) bc_die(BC_EXIT_FATAL, "%s", err.msg);
        llama_p = &llama;
    }

    bc_weights *w = bc_weights_open(path, &err);
    if (!w) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    if (json) print_json(path, cfg, llama_p, w);
    else print_text(path, cfg, llama_p, w);
    bc_weights_close(w);
    bc_config_free(cfg);
    if (fflush(stdout) != 0 || ferror(stdout)) bc_die(BC_EXIT_FATAL, "write error on stdout");
    return BC_EXIT_OK;
}
