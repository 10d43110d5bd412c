// gen_tool.h: what plan-cot and gen-tokens share on top of tool.h: the
// sampling and template options, opening the Janus model with its tokenizer,
// and the `gen` provenance map they write.
#ifndef BICOT_GEN_TOOL_H
#define BICOT_GEN_TOOL_H

#include "nn/generate.h"
#include "text/bpe.h"
#include "text/template.h"
#include "tool.h"

typedef struct {
    bc_sampler sampler;
    const char *template_name, *template_file;
    // after bc_gen_open:
    janus_model *m;
    bc_tokenizer *tok;
    bc_template tpl;
    const char *model_name;  // the model directory's last component
} bc_gen;

// Sampler defaults: temperature 1, top-k as given, top-p 1; template t2i-r1.
void bc_gen_init(bc_gen *g, int top_k);
// Handles --template, --template-file, --temperature, --top-k, --top-p,
// --greedy at argv[*i]: 1 if it was one of them.
int bc_gen_option(bc_gen *g, int argc, char **argv, int *i);
// Checks the options and opens model, tokenizer and template (--model is
// required); a usage problem exits 1, an unreadable model 2.
void bc_gen_open(bc_gen *g, bc_tool *t);
void bc_gen_close(bc_gen *g);
// The `gen` map: model, seed, temperature, top_k, top_p, and cfg when cfg >= 0.
msgpack_object bc_gen_provenance(const bc_gen *g, const bc_tool *t, bc_record *r, double cfg);

#endif
