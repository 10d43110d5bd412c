// torch.c: PyTorch checkpoints (pytorch_model*.bin, *.pt, *.pth) as written
// by torch.save since PyTorch 1.6: an uncompressed zip archive
//   <archive>/data.pkl      the pickled object (a state dict)
//   <archive>/data/<key>    the raw bytes of each storage
//   <archive>/byteorder     "little" or "big" (since PyTorch 2.1; little before)
//   <archive>/version, .format_version, .storage_alignment, ...  (not needed)
// where <archive> is a top directory whose name varies (the file's stem when
// it was saved: "archive", "pytorch_model", ...).
//
// The file is mmap()ed; data.pkl goes through the restricted unpickler
// (pickle.c), which never runs code; its state dict is flattened by the rule
// of bc_pickle_state_dict; each tensor points into the mapping when its bytes
// are contiguous (zero copy), else gets an owned contiguous copy.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pickle.h"
#include "weights.h"
#include "zip.h"

// Fails with a useful message when the file is not a zip archive.
static int check_zip_format(const char *path, const uint8_t *buf, size_t len, bc_err *err) {
    if (len >= 2 && buf[0] == 'P' && buf[1] == 'K') return 0;
    // Before 1.6, torch.save wrote a sequence of pickles (starting with the
    // PROTO opcode) and, earlier still, a tar archive.
    int legacy = buf[0] == 0x80 || (len > 262 && memcmp(buf + 257, "ustar", 5) == 0);
    if (legacy)
        return bc_fail(err, "%s: legacy PyTorch format (torch.save before 1.6, or _use_new_zipfile_serialization=False) "
                            "is not supported; re-save it with torch.save from PyTorch >= 1.6",
                       path);
    return bc_fail(err, "%s: not a PyTorch checkpoint (expected a zip archive written by torch.save)", path);
}

// The "<archive>/" prefix: the directory of the top-level "<archive>/data.pkl".
static char *find_archive(const bc_zip *z) {
    for (size_t i = 0; i < z->n; i++) {
        const char *name = z->entries[i].name, *slash = strchr(name, '/');
        if (slash && slash > name && strcmp(slash, "/data.pkl") == 0) return bc_strndup(name, (size_t)(slash - name + 1));
    }
    return NULL;
}

// Reads <archive>/byteorder: 0 little-endian (also when absent), 1 big.
static int read_byteorder(const bc_zip *z, const char *archive, int *big, bc_err *err) {
    char *name = bc_asprintf("%sbyteorder", archive);
    const bc_zip_entry *e = bc_zip_find(z, name);
    *big = 0;
    int rc = 0;
    const uint8_t *p;
    uint64_t n;
    if (e && (rc = bc_zip_data(e, &p, &n, err)) == 0) {
        if (n == 3 && memcmp(p, "big", 3) == 0) *big = 1;
        else if (!(n == 6 && memcmp(p, "little", 6) == 0))
            rc = bc_fail(err, "%s: expected 'little' or 'big', found %llu other bytes", name, (unsigned long long)n);
    }
    free(name);
    return rc;
}

// Everything read before any tensor is added.
typedef struct {
    uint8_t *map;
    size_t len;
    bc_zip zip;
    char *archive;
    int big_endian;
    bc_pickle *pickle;
    bc_pk_named *tensors;
    size_t ntensors;
} torch_file;

static int read_structure(torch_file *f, const char *path, bc_err *err) {
    if (bc_map_file(path, (void **)&f->map, &f->len, err) < 0) return -1;
    if (check_zip_format(path, f->map, f->len, err) < 0) return -1;
    if (bc_zip_open(&f->zip, f->map, f->len, err) < 0) goto fail;
    f->archive = find_archive(&f->zip);
    if (!f->archive) {
        bc_fail(err, "no <archive>/data.pkl in the zip (not written by torch.save?)");
        goto fail;
    }
    if (read_byteorder(&f->zip, f->archive, &f->big_endian, err) < 0) goto fail;
    char *pkl_name = bc_asprintf("%sdata.pkl", f->archive);
    const uint8_t *pkl;
    uint64_t pkl_len;
    // find_archive saw this entry, so the lookup cannot fail
    int rc = bc_zip_data(bc_zip_find(&f->zip, pkl_name), &pkl, &pkl_len, err);
    if (rc == 0) {
        f->pickle = bc_pickle_load(pkl, (size_t)pkl_len, err);
        if (!f->pickle) bc_err_prefix(err, "%s", pkl_name);
    }
    free(pkl_name);
    if (!f->pickle) goto fail;
    if (bc_pickle_state_dict(bc_pickle_root(f->pickle), &f->tensors, &f->ntensors, err) < 0) goto fail;
    return 0;
fail:
    bc_err_prefix(err, "%s", path);
    return -1;
}

static void release(torch_file *f) {
    bc_pickle_named_free(f->tensors, f->ntensors);
    bc_pickle_free(f->pickle);
    free(f->archive);
    bc_zip_close(&f->zip);
}

// The contiguous bytes of a tensor: its storage's zip entry, then zero copy
// or a malloc'ed copy (*copy).
static int tensor_bytes(const torch_file *f, const bc_pk_tensor *t, const void **data, void **copy, bc_err *err) {
    char *entry_name = bc_asprintf("%sdata/%s", f->archive, t->storage->key);
    const bc_zip_entry *e = bc_zip_find(&f->zip, entry_name);
    const uint8_t *storage;
    uint64_t storage_len;
    int rc = e ? bc_zip_data(e, &storage, &storage_len, err)
               : bc_fail(err, "storage '%s' is missing from the zip", entry_name);
    free(entry_name);
    if (rc < 0) return -1;
    return bc_pickle_tensor_data(t, storage, (size_t)storage_len, f->big_endian, data, copy, err);
}

static int add_tensor(bc_weights *w, const torch_file *f, int file, const bc_pk_named *t, bc_err *err) {
    const void *data;
    void *copy;
    if (tensor_bytes(f, t->tensor, &data, &copy, err) < 0) {
        bc_err_prefix(err, "tensor '%s'", t->name);
        return -1;
    }
    if (copy) bc_weights_own(w, copy);
    return bc_weights_add(w, t->name, t->tensor->storage->dtype, t->tensor->ndim, t->tensor->shape, data, file, err);
}

int bc_torch_load(bc_weights *w, const char *path, bc_err *err) {
    torch_file f = {0};
    if (read_structure(&f, path, err) < 0) {
        release(&f);
        if (f.map) munmap(f.map, f.len);
        return -1;
    }
    // From here the mapping belongs to w (unmapped at bc_weights_close), so
    // tensors may point into it whatever happens next.
    int file = bc_weights_add_file(w, path, f.map, f.len);
    int rc = 0;
    for (size_t i = 0; i < f.ntensors && rc == 0; i++) rc = add_tensor(w, &f, file, &f.tensors[i], err);
    if (rc < 0) bc_err_prefix(err, "%s", path);
    release(&f);
    return rc;
}
