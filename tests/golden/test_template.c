// lib/text/template.c against the strings T2I-R1's own code builds
// (make_templates.py runs its conversation template on these prompts).
#include <jansson.h>

#include "check.h"
#include "text/template.h"

static void check_one(const char *what, char *got, const json_t *want, int i) {
    if (!CHECK(strcmp(got, json_string_value(want)) == 0, "case %d: %s is byte-exact", i, what))
        printf("#   got:  %s\n#   want: %s\n", got, json_string_value(want));
    free(got);
}

int main(void) {
    json_error_t je;
    json_t *root = json_load_file("tests/golden/templates/cases.json", 0, &je);
    if (!CHECK(root != NULL, "cases.json loads")) return check_done();
    bc_template t2i, janus;
    bc_err err;
    bc_template_named(&t2i, "t2i-r1", &err);
    bc_template_named(&janus, "janus", &err);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(root, "cases"), i, c) {
        const char *prompt = json_string_value(json_object_get(c, "prompt"));
        const char *cot = json_string_value(json_object_get(c, "cot"));
        json_t *a = json_object_get(c, "t2i-r1"), *b = json_object_get(c, "janus");
        check_one("t2i-r1 plan", bc_template_plan(&t2i, prompt), json_object_get(a, "plan"), (int)i);
        check_one("t2i-r1 image", bc_template_image(&t2i, prompt, cot), json_object_get(a, "image"), (int)i);
        check_one("janus plan", bc_template_plan(&janus, prompt), json_object_get(b, "plan"), (int)i);
        check_one("janus image", bc_template_image(&janus, prompt, cot), json_object_get(b, "image"), (int)i);
        check_one("janus image, no cot", bc_template_image(&janus, prompt, NULL), json_object_get(b, "image_no_cot"),
                  (int)i);
    }
    CHECK(bc_template_named(&t2i, "llava", &err) < 0, "an unknown template name is refused");
    CHECK_CONTAINS(err.msg, "unknown template 'llava'", "its message");
    char *s = bc_strip("\xe3\x80\x80 a b\t\n");
    CHECK_STR(s, "a b", "strip removes Unicode and ASCII whitespace at both ends");
    free(s);
    json_decref(root);
    return check_done();
}
