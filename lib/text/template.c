#include "template.h"

#include <stdlib.h>
#include <string.h>

// T2I-R1's data/prompt/reasoning_prompt.txt, exact bytes ({} is the prompt;
// the file ends with ": " and no newline).
static const char reasoning_prompt[] =
    "You are asked to generate an image based on this prompt: \"{}\"\n"
    "Provide a brief, precise visualization of all elements in the prompt. Your description should:\n"
    "1. Include every object mentioned in the prompt\n"
    "2. Specify visual attributes (color, number, shape, texture) if specified in the prompt\n"
    "3. Clarify relationships (e.g., spatial) between objects if specified in the prompt\n"
    "4. Be concise (50 words or less)\n"
    "5. Focus only on what's explicitly stated in the prompt\n"
    "6. Do not elaborate beyond the attributes or relationships specified in the prompt\n"
    "Do not miss objects. Output your visualization directly without explanation: ";

static const char t2i_r1_system[] =
    "You are a helpful assistant that receives an image prompt and generate a visualization of the prompt.";

int bc_template_named(bc_template *t, const char *name, bc_err *err) {
    t->text = NULL;
    if (strcmp(name, "t2i-r1") == 0) t->kind = BC_TEMPLATE_T2I_R1;
    else if (strcmp(name, "janus") == 0) t->kind = BC_TEMPLATE_JANUS;
    else return bc_fail(err, "unknown template '%s' (expected t2i-r1 or janus, or --template-file)", name);
    return 0;
}

int bc_template_from_file(bc_template *t, const char *path, bc_err *err) {
    uint8_t *data;
    size_t len;
    if (bc_read_file(path, &data, &len, err) < 0) return -1;
    if (!strstr((char *)data, "{prompt}")) {
        free(data);
        return bc_fail(err, "%s: a template needs a {prompt} placeholder", path);
    }
    t->kind = BC_TEMPLATE_FILE;
    t->text = (char *)data;
    return 0;
}

void bc_template_free(bc_template *t) {
    free(t->text);
    t->text = NULL;
}

// Length of the Unicode whitespace character at s (as Python's str.isspace), or 0.
static size_t space_len(const unsigned char *s) {
    if (*s == ' ' || (*s >= 0x09 && *s <= 0x0d) || (*s >= 0x1c && *s <= 0x1f)) return 1;
    if (s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0)) return 2;
    if (s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80) return 3;                  // U+1680
    if (s[0] == 0xe2 && s[1] == 0x80 && ((s[2] >= 0x80 && s[2] <= 0x8a) ||      // U+2000..200A
                                         s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))  // 2028 2029 202F
        return 3;
    if (s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f) return 3;                  // U+205F
    if (s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80) return 3;                  // U+3000
    return 0;
}

char *bc_strip(const char *s) {
    const unsigned char *p = (const unsigned char *)s;
    size_t k;
    while (*p && (k = space_len(p))) p += k;
    // the end: the last position after which only whitespace follows
    const unsigned char *end = p, *q = p;
    while (*q) {
        if ((k = space_len(q))) {
            q += k;
        } else {
            q++;
            while ((*q & 0xc0) == 0x80) q++;  // rest of a UTF-8 sequence
            end = q;
        }
    }
    return bc_strndup((const char *)p, (size_t)(end - p));
}

// Replaces every `key` in text by value. Fresh string.
static char *replace_all(const char *text, const char *key, const char *value) {
    bc_buf b = {0};
    size_t klen = strlen(key);
    const char *p = text, *hit;
    while ((hit = strstr(p, key))) {
        bc_buf_put(&b, p, (size_t)(hit - p));
        bc_buf_puts(&b, value);
        p = hit + klen;
    }
    bc_buf_puts(&b, p);
    return b.data;
}

// DeepSeek's conversation: "{system}\n\n" (when not empty), then
// "{role}: {content}\n\n" for the user and "{role}:" for the empty assistant
// turn, the whole stripped.
static char *conversation(const char *system, const char *user_role, const char *content, const char *assistant_role) {
    char *c = bc_strip(content);
    char *s = system[0] ? bc_asprintf("%s\n\n%s: %s\n\n%s:", system, user_role, c, assistant_role)
                        : bc_asprintf("%s: %s\n\n%s:", user_role, c, assistant_role);
    free(c);
    char *out = bc_strip(s);
    free(s);
    return out;
}

char *bc_template_plan(const bc_template *t, const char *prompt) {
    if (t->kind == BC_TEMPLATE_FILE) return replace_all(t->text, "{prompt}", prompt);
    char *instruction = replace_all(reasoning_prompt, "{}", prompt);
    char *out = t->kind == BC_TEMPLATE_T2I_R1 ? conversation(t2i_r1_system, "User", instruction, "Assistant")
                                              : conversation("", "<|User|>", instruction, "<|Assistant|>");
    free(instruction);
    return out;
}

char *bc_template_image(const bc_template *t, const char *prompt, const char *cot) {
    char *content = cot ? bc_asprintf("%s. %s", prompt, cot) : bc_strdup(prompt);
    char *out;
    if (t->kind == BC_TEMPLATE_FILE) {
        char *a = replace_all(t->text, "{prompt}", prompt);
        out = replace_all(a, "{cot}", cot ? cot : "");
        free(a);
    } else if (t->kind == BC_TEMPLATE_T2I_R1) {
        out = conversation("", "User", content, "Assistant");
    } else {
        out = conversation("", "<|User|>", content, "<|Assistant|>");
    }
    free(content);
    return out;
}
