// template.h: the prompt strings of the two BiCoT stages, byte-exact with
// the references (../shared/reference/t2i-r1-spec.md §1.2 and
// janus-pro-spec.md §2.2).
//
//   t2i-r1 (default): T2I-R1's reasoning instruction in DeepSeek's
//     "User:/Assistant:" conversation with its system prompt (stage 1), and
//     "User: {prompt}. {cot}\n\nAssistant:" (stage 2);
//   janus: the official Janus-Pro chat format "<|User|>: ...\n\n<|Assistant|>:"
//     with no system prompt;
//   a user's file (--template-file): the text with {prompt} and {cot}
//     replaced (stage 1 uses it with {prompt} only).
// Message contents and the whole string are stripped of surrounding
// whitespace as Python's str.strip() does. The image stage's
// <begin_of_image> token is appended by the caller as an id.
#ifndef BICOT_TEMPLATE_H
#define BICOT_TEMPLATE_H

#include "../util.h"

typedef enum { BC_TEMPLATE_T2I_R1, BC_TEMPLATE_JANUS, BC_TEMPLATE_FILE } bc_template_kind;

typedef struct {
    bc_template_kind kind;
    char *text;  // BC_TEMPLATE_FILE: the file's contents
} bc_template;

// "t2i-r1" or "janus"; -1 with err for anything else.
int bc_template_named(bc_template *t, const char *name, bc_err *err);
int bc_template_from_file(bc_template *t, const char *path, bc_err *err);
void bc_template_free(bc_template *t);

// Stage 1: the text that asks for the semantic CoT of prompt. Fresh string.
char *bc_template_plan(const bc_template *t, const char *prompt);
// Stage 2: the text the image tokens are conditioned on; cot may be NULL
// (then the prompt alone, as plain Janus generation does). Fresh string.
char *bc_template_image(const bc_template *t, const char *prompt, const char *cot);

// Python's str.strip() on UTF-8: a fresh string without leading/trailing
// Unicode whitespace.
char *bc_strip(const char *s);

#endif
