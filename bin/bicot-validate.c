// bicot-validate: checks a record stream against a JSON Schema of schemas/.
#include <string.h>

#include "io/schema.h"
#include "tool.h"

static const char usage[] =
    "usage: bicot-validate SCHEMA [--pass] < records\n"
    "\n"
    "Checks every record against SCHEMA (a file of schemas/: prompt.json, plan.json,\n"
    "tokens.json, image.json, scored.json) and reports each invalid record on stderr\n"
    "with the path of the first problem. Exit status 0 when all are valid, 3 when some\n"
    "are not, 2 on a broken stream.\n"
    "  --pass           also pass every record through to stdout unchanged\n"
    "  -q, --quiet      no summary line\n"
    "\n"
    "Example:\n"
    "  bicot-json prompts.jsonl | plan-cot -n 4 | bicot-validate schemas/plan.json --pass | gen-tokens\n";

int main(int argc, char **argv) {
    bc_tool t;
    bc_tool_init(&t, argc, argv, usage);
    const char *schema_path = NULL;
    int pass = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        if (bc_tool_option(&t, argc, argv, &i)) continue;
        if (strcmp(argv[i], "--pass") == 0) pass = 1;
        else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else if (argv[i][0] == '-') bc_tool_usage_error("unknown option '%s'", argv[i]);
        else if (!schema_path) schema_path = argv[i];
        else bc_tool_usage_error("one schema only");
    }
    if (!schema_path) bc_tool_usage_error("which schema? (a file of schemas/)");
    bc_err err;
    bc_schema *schema = bc_schema_load(schema_path, &err);
    if (!schema) bc_die(BC_EXIT_FATAL, "%s", err.msg);

    bc_tool_start(&t);
    size_t invalid = 0, total = 0;
    bc_record rec;
    while (bc_tool_next(&t, &rec)) {
        total++;
        if (bc_schema_validate_record(schema, &rec, &err) < 0) {
            char line[2048];
            bc_record_error_line(&rec, err.msg, line, sizeof line);
            fprintf(stderr, "%s\n", line);
            invalid++;
        }
        if (pass) bc_tool_emit(&t, &rec);
        else bc_record_free(&rec);
    }
    bc_schema_free(schema);
    int rc = bc_tool_finish(&t);
    if (!quiet) bc_warn("%zu records, %zu invalid (%s)", total, invalid, schema_path);
    return rc ? rc : invalid ? BC_EXIT_PARTIAL : BC_EXIT_OK;
}
