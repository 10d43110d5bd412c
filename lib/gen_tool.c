#include "gen_tool.h"

#include <string.h>

void bc_gen_init(bc_gen *g, int top_k) {
    memset(g, 0, sizeof *g);
    g->sampler = (bc_sampler){1.0f, top_k, 1.0f, 0};
    g->template_name = "t2i-r1";
}

int bc_gen_option(bc_gen *g, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    if (strcmp(a, "--template") == 0) g->template_name = bc_tool_value(argc, argv, i);
    else if (strcmp(a, "--template-file") == 0) g->template_file = bc_tool_value(argc, argv, i);
    else if (strcmp(a, "--temperature") == 0) g->sampler.temperature = (float)bc_parse_double(a, bc_tool_value(argc, argv, i));
    else if (strcmp(a, "--top-k") == 0) g->sampler.top_k = (int)bc_parse_int(a, bc_tool_value(argc, argv, i), 0, 1 << 30);
    else if (strcmp(a, "--top-p") == 0) g->sampler.top_p = (float)bc_parse_double(a, bc_tool_value(argc, argv, i));
    else if (strcmp(a, "--greedy") == 0) g->sampler.greedy = 1;
    else return 0;
    return 1;
}

void bc_gen_open(bc_gen *g, bc_tool *t) {
    if (!t->model) bc_tool_usage_error("--model DIR is required");
    if (!(g->sampler.temperature > 0)) bc_tool_usage_error("--temperature must be > 0 (use --greedy for argmax)");
    if (!(g->sampler.top_p > 0 && g->sampler.top_p <= 1)) bc_tool_usage_error("--top-p must be in (0, 1]");
    bc_err err;
    int rc = g->template_file ? bc_template_from_file(&g->tpl, g->template_file, &err)
                              : bc_template_named(&g->tpl, g->template_name, &err);
    if (rc < 0) bc_tool_usage_error("%s", err.msg);
    g->m = janus_open(t->model, &err);
    if (!g->m) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    g->tok = bc_tokenizer_load(t->model, &err);
    if (!g->tok) bc_die(BC_EXIT_FATAL, "%s", err.msg);
    const char *slash = strrchr(t->model, '/');
    g->model_name = slash && slash[1] ? slash + 1 : t->model;
}

void bc_gen_close(bc_gen *g) {
    bc_tokenizer_free(g->tok);
    janus_close(g->m);
    bc_template_free(&g->tpl);
}

msgpack_object bc_gen_provenance(const bc_gen *g, const bc_tool *t, bc_record *r, double cfg) {
    const char *keys[6] = {"model", "seed", "temperature", "top_k", "top_p", "cfg"};
    msgpack_object vals[6] = {bc_obj_cstr(r, g->model_name), bc_obj_int((int64_t)t->seed),
                              bc_obj_float(g->sampler.greedy ? 0.0 : g->sampler.temperature),
                              bc_obj_int(g->sampler.top_k), bc_obj_float(g->sampler.top_p), bc_obj_float(cfg)};
    int n = cfg >= 0 ? 6 : 5;
    msgpack_object gen = bc_obj_map(r, (size_t)n);
    for (int i = 0; i < n; i++) {
        gen.via.map.ptr[i].key = bc_obj_cstr(r, keys[i]);
        gen.via.map.ptr[i].val = vals[i];
    }
    return gen;
}
