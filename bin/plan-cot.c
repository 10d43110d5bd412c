// plan-cot: prompt records in, G semantic-level CoT samples per prompt out.
#include <stdlib.h>
#include <string.h>

#include "gen_tool.h"

static const char usage[] =
    "usage: plan-cot --model DIR [-n G] [options] < prompts > plans\n"
    "\n"
    "The semantic-level CoT of BiCoT: for each prompt record, a Janus-Pro model writes\n"
    "G text plans of the image (t2i-r1-spec.md §1.2-1.3). Each prompt record becomes G\n"
    "records `<id>#0` .. `<id>#G-1`, every key passed on, plus `group` (the prompt's id),\n"
    "`cot` (the decoded plan), `cot_ids` (token ids through the first EOS), `cot_logp`\n"
    "(log-prob of each id under the policy: softmax of the raw logits, as GRPO trains it)\n"
    "and `gen`. The G rows of a group decode together from one prefill of the prompt.\n"
    "  -n G                samples per prompt (default 8)\n"
    "  --template NAME     t2i-r1 (default: T2I-R1's reasoning instruction, \"User:/Assistant:\")\n"
    "                      or janus (the official \"<|User|>\" chat format)\n"
    "  --template-file F   your own: {prompt} is replaced\n"
    "  --temperature T     (default 1)\n"
    "  --top-k K           (default 50: what T2I-R1's generate() call samples with)\n"
    "  --top-p P           (default 1: off)\n"
    "  --greedy            argmax\n"
    "  --max-tokens N      at most N tokens per plan (default 1024)\n"
    "Sample k draws from the RNG of its own id `<id>#k` and --seed only.\n"
    "\n"
    "Example:\n"
    "  bicot-json prompts.jsonl | plan-cot --model Janus-Pro-1B -n 8 | gen-tokens --model Janus-Pro-1B\n";

typedef struct {
    bc_tool *t;
    bc_gen g;
    int G, max_new, eos;
} ctx;

// Plans one prompt record: G output records, or -1 with err (nothing written).
static int plan(ctx *c, bc_record *rec, bc_err *err) {
    char *prompt;
    if (bc_get_strdup(rec, "prompt", &prompt, err) < 0) return -1;
    char *text = bc_template_plan(&c->g.tpl, prompt);
    free(prompt);
    int32_t *ids;
    size_t len;
    int rc = bc_tokenizer_encode(c->g.tok, text, strlen(text), 1, &ids, &len, err);
    free(text);
    if (rc < 0) return -1;

    char id[480];
    bc_record_id(rec, id, sizeof id);
    if (!id[0]) snprintf(id, sizeof id, "%zu", rec->index);
    bc_record *out = bc_calloc((size_t)c->G, sizeof *out);
    bc_rng *rngs = bc_calloc((size_t)c->G, sizeof *rngs);
    janus_text_job *jobs = bc_calloc((size_t)c->G, sizeof *jobs);
    for (int g = 0; g < c->G; g++) {
        bc_record_clone(&out[g], rec);
        char sid[512];
        snprintf(sid, sizeof sid, "%s#%d", id, g);
        bc_record_set(&out[g], "id", bc_obj_cstr(&out[g], sid));
        bc_tool_record_rng(c->t, &out[g], &rngs[g]);
        jobs[g] = (janus_text_job){&rngs[g], bc_malloc((size_t)c->max_new * sizeof(int32_t)),
                                   bc_malloc((size_t)c->max_new * sizeof(float)), 0};
    }
    rc = janus_generate_text(c->g.m, ids, (int)len, jobs, c->G, c->max_new, c->eos, &c->g.sampler, err);
    size_t tokens = 0;
    for (int g = 0; g < c->G && rc == 0; g++) {
        size_t cot_len;
        char *cot = bc_tokenizer_decode(c->g.tok, jobs[g].ids, (size_t)jobs[g].n, 1, &cot_len, err);
        if (!cot) {
            rc = -1;
            break;
        }
        bc_record *r = &out[g];
        bc_record_set(r, "group", bc_obj_cstr(r, id));
        bc_record_set(r, "cot", bc_obj_str(r, cot, cot_len));
        bc_record_set(r, "cot_ids", bc_obj_int_array(r, jobs[g].ids, (size_t)jobs[g].n));
        bc_record_set(r, "cot_logp", bc_obj_float_array(r, jobs[g].logp, (size_t)jobs[g].n));
        bc_record_set(r, "gen", bc_gen_provenance(&c->g, c->t, r, -1));
        tokens += (size_t)jobs[g].n;
        free(cot);
    }
    for (int g = 0; g < c->G; g++) {
        if (rc == 0) bc_tool_emit(c->t, &out[g]);
        else bc_record_free(&out[g]);
        free(jobs[g].ids);
        free(jobs[g].logp);
    }
    if (rc == 0) bc_progress_add(&c->t->prog, 0, (double)tokens, "tokens");
    free(jobs), free(rngs), free(out), free(ids);
    return rc;
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    ctx c = {.t = &t, .G = 8, .max_new = 1024};
    bc_gen_init(&c.g, 50);  // top-k 50: what T2I-R1's generate() call samples with
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i) || bc_gen_option(&c.g, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "-n") == 0) c.G = (int)bc_parse_int(a, bc_tool_value(argc, argv, &i), 1, 4096);
        else if (strcmp(a, "--max-tokens") == 0) c.max_new = (int)bc_parse_int(a, bc_tool_value(argc, argv, &i), 1, 1 << 20);
        else bc_tool_usage_error("unknown option '%s'", a);
    }
    bc_gen_open(&c.g, &t);
    c.eos = bc_tokenizer_eos(c.g.tok);
    if (c.eos < 0) bc_die(BC_EXIT_FATAL, "%s: the tokenizer has no EOS token", t.model);

    bc_err err;
    bc_tool_start(&t);
    bc_record rec;
    while (bc_tool_next(&t, &rec)) {
        if (plan(&c, &rec, &err) < 0) bc_tool_fail(&t, &rec, &err);
        else bc_record_free(&rec);
    }
    bc_gen_close(&c.g);
    return bc_tool_finish(&t);
}
