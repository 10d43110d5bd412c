// fuzz_config: bytes -> config.json parse, the LLaMA config in whatever
// layout it is found, and the dotted-path getters on a few paths.
#include <stdint.h>

#include "io/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bc_err err;
    bc_config *cfg = bc_config_parse((const char *)data, size, "fuzz.json", &err);
    if (!cfg) return 0;
    bc_llama_config c;
    bc_llama_config_find(cfg, &c, &err);
    bc_llama_config_read(cfg, "text_config", &c, &err);
    static const char *const paths[] = {"model_type", "architectures.0", "text_config.hidden_size",
                                        "language_config.vocab_size", "a.0.b.1", "", "."};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        bc_config_int(cfg, paths[i], 0);
        bc_config_double(cfg, paths[i], 0);
        bc_config_bool(cfg, paths[i], 0);
        bc_config_str(cfg, paths[i], "");
    }
    bc_config_free(cfg);
    return 0;
}
