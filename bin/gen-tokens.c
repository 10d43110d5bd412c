// gen-tokens: prompt (and semantic CoT) records in, image tokens out.
#include <stdlib.h>
#include <string.h>

#include "gen_tool.h"

static const char usage[] =
    "usage: gen-tokens --model DIR [options] < records > records\n"
    "\n"
    "The token-level CoT of BiCoT: for each record, a Janus-Pro model writes the image\n"
    "as VQ codes in raster order, with classifier-free guidance (janus-pro-spec.md §2).\n"
    "Reads `prompt` (and `cot` when present: the image is conditioned on\n"
    "\"{prompt}. {cot}\", as T2I-R1 does); adds `image_tokens`, `grid` [h, w],\n"
    "`image_logp` (log-prob of each code), `group` (the id, when absent) and `gen`.\n"
    "  --template NAME     t2i-r1 (default: \"User: ...\\n\\nAssistant:\") or janus (\"<|User|>: ...\")\n"
    "  --template-file F   your own: {prompt} and {cot} are replaced\n"
    "  --cfg W             guidance weight (default 5): logits = u + W·(c − u)\n"
    "  --temperature T     (default 1)\n"
    "  --top-k K           keep the K most likely codes (default 0: all, as Janus-Pro)\n"
    "  --top-p P           nucleus sampling (default 1: off)\n"
    "  --greedy            argmax instead of sampling\n"
    "  --logp cond|cfg     image_logp under the conditional policy, T = 1, no CFG (default:\n"
    "                      what GRPO trains) or under the distribution that was sampled\n"
    "  --grid HxW          token grid (default: the model's, 24x24 for Janus-Pro at 384 px)\n"
    "Records are generated --batch at a time (2 KV-cache rows each); a record's tokens depend\n"
    "only on --seed, its id and the model, never on the batch or the threads.\n"
    "\n"
    "Example:\n"
    "  bicot-json prompts.jsonl | gen-tokens --model Janus-Pro-1B --batch 4 | vq-decode --model Janus-Pro-1B --out-dir out/\n";

typedef struct {
    bc_record rec;
    int ok;               // prepared for generation
    int32_t *ids;         // the cond row's ids
    size_t len;
    bc_rng rng;
    int32_t *tokens;
    float *logp;
} item;

typedef struct {
    bc_tool *t;
    bc_gen g;
    janus_image_opts opts;
    int boi_id, grid_h, grid_w;
} ctx;

// Builds the cond row of a record: template text, BOS, <begin_of_image>.
static int prepare(ctx *c, item *it, bc_err *err) {
    char *prompt = NULL, *cot = NULL;
    if (bc_get_strdup(&it->rec, "prompt", &prompt, err) < 0) return -1;
    const msgpack_object *co = bc_record_get(&it->rec, "cot");
    if (co && co->type != MSGPACK_OBJECT_NIL && bc_get_strdup(&it->rec, "cot", &cot, err) < 0) {
        free(prompt);
        return -1;
    }
    char *text = bc_template_image(&c->g.tpl, prompt, cot);
    free(prompt);
    free(cot);
    int32_t *ids;
    size_t n;
    int rc = bc_tokenizer_encode(c->g.tok, text, strlen(text), 1, &ids, &n, err);
    free(text);
    if (rc < 0) return -1;
    it->ids = bc_realloc(ids, (n + 1) * sizeof *ids);
    it->ids[n] = c->boi_id;
    it->len = n + 1;
    bc_tool_record_rng(c->t, &it->rec, &it->rng);
    size_t nt = (size_t)c->grid_h * c->grid_w;
    it->tokens = bc_malloc(nt * sizeof *it->tokens);
    it->logp = bc_malloc(nt * sizeof *it->logp);
    return 0;
}

static void add_outputs(ctx *c, item *it) {
    bc_record *r = &it->rec;
    size_t nt = (size_t)c->grid_h * c->grid_w;
    bc_record_set(r, "image_tokens", bc_obj_int_array(r, it->tokens, nt));
    int32_t grid[2] = {c->grid_h, c->grid_w};
    bc_record_set(r, "grid", bc_obj_int_array(r, grid, 2));
    bc_record_set(r, "image_logp", bc_obj_float_array(r, it->logp, nt));
    if (!bc_record_get(r, "group")) {
        const msgpack_object *id = bc_record_get(r, "id");
        if (id) bc_record_set(r, "group", *id);
    }
    bc_record_set(r, "gen", bc_gen_provenance(&c->g, c->t, r, c->opts.cfg));
}

static void item_free(item *it) {
    free(it->ids);
    free(it->tokens);
    free(it->logp);
    memset(it, 0, sizeof *it);  // the slot is reused by the next batch
}

// Generates the prepared items of a batch and writes them all, in order.
static void run_batch(ctx *c, item *items, int n) {
    janus_image_job *jobs = bc_calloc((size_t)n, sizeof *jobs);
    int nj = 0;
    for (int i = 0; i < n; i++)
        if (items[i].ok)
            jobs[nj++] = (janus_image_job){items[i].ids, (int)items[i].len, &items[i].rng, items[i].tokens, items[i].logp};
    bc_err err;
    int rc = nj ? janus_generate_images(c->g.m, jobs, nj, &c->opts, &err) : 0;
    free(jobs);
    for (int i = 0; i < n; i++) {
        if (items[i].ok && rc == 0) {
            add_outputs(c, &items[i]);
            bc_tool_emit(c->t, &items[i].rec);
        } else {
            bc_tool_fail(c->t, &items[i].rec, items[i].ok ? &err : NULL);
        }
        item_free(&items[i]);
    }
    bc_progress_add(&c->t->prog, 0, (double)nj * c->grid_h * c->grid_w, "tokens");
}

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    ctx c = {.t = &t, .opts = {.cfg = 5.0f}};
    bc_gen_init(&c.g, 0);  // Janus-Pro samples from all 16384 codes
    const char *grid = NULL;
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i) || bc_gen_option(&c.g, argc, argv, &i)) continue;
        const char *a = argv[i];
        if (strcmp(a, "--cfg") == 0) c.opts.cfg = (float)bc_parse_double(a, bc_tool_value(argc, argv, &i));
        else if (strcmp(a, "--grid") == 0) grid = bc_tool_value(argc, argv, &i);
        else if (strcmp(a, "--logp") == 0) {
            const char *v = bc_tool_value(argc, argv, &i);
            if (strcmp(v, "cond") != 0 && strcmp(v, "cfg") != 0) bc_tool_usage_error("--logp: expected cond or cfg, got '%s'", v);
            c.opts.logp_cfg = strcmp(v, "cfg") == 0;
        } else bc_tool_usage_error("unknown option '%s'", a);
    }
    bc_gen_open(&c.g, &t);
    c.opts.sampler = c.g.sampler;
    c.opts.pad_id = bc_tokenizer_token_id(c.g.tok, "<｜▁pad▁｜>");
    c.boi_id = bc_tokenizer_token_id(c.g.tok, "<begin_of_image>");
    if (c.opts.pad_id < 0 || c.boi_id < 0)
        bc_die(BC_EXIT_FATAL, "%s: tokenizer.json lacks <｜▁pad▁｜> or <begin_of_image>: not a Janus tokenizer", t.model);
    int side = (int)bc_config_int(c.g.m->cfg, "vq_config.num_patches", 24);
    c.grid_h = c.grid_w = side;
    if (grid && (sscanf(grid, "%dx%d", &c.grid_h, &c.grid_w) != 2 || c.grid_h < 1 || c.grid_w < 1))
        bc_tool_usage_error("--grid: expected HxW, got '%s'", grid);
    c.opts.n_tokens = c.grid_h * c.grid_w;

    bc_err err;
    bc_tool_start(&t);
    item *items = bc_calloc((size_t)t.batch, sizeof *items);
    int n = 0;
    while (bc_tool_next(&t, &items[n].rec)) {
        item *it = &items[n];
        it->ok = prepare(&c, it, &err) == 0;
        if (!it->ok) {
            if (!t.keep_going) {  // stop here: write what came before, then this one
                run_batch(&c, items, n);
                bc_tool_fail(&t, &it->rec, &err);
            }
            bc_tool_report(&t, &it->rec, &err);
        }
        if (++n == t.batch) {
            run_batch(&c, items, n);
            n = 0;
        }
    }
    run_batch(&c, items, n);
    free(items);
    bc_gen_close(&c.g);
    return bc_tool_finish(&t);
}
