// zip.h: a read-only zip directory reader over a buffer in memory (usually
// the mmap of a file). It reads the central directory (ZIP64 included), checks
// each entry's local header, and hands out zero-copy pointers to the bytes of
// stored (uncompressed) entries. That is all PyTorch checkpoints need:
// torch.save writes an uncompressed archive, so there is no inflater here.
//
//   bc_zip z;
//   if (bc_zip_open(&z, map, map_len, &err) < 0) ...
//   const bc_zip_entry *e = bc_zip_find(&z, "archive/data.pkl");
//   const uint8_t *p; uint64_t n;
//   if (e && bc_zip_data(e, &p, &n, &err) == 0) ... p[0..n) ...
//   bc_zip_close(&z);
#ifndef BICOT_ZIP_H
#define BICOT_ZIP_H

#include <stddef.h>
#include <stdint.h>

#include "../util.h"

typedef struct {
    char *name;           // NUL-terminated copy of the entry name
    int method;           // 0 stored, 8 deflate, ...
    uint16_t flags;       // general purpose bit flags (bit 0: encrypted)
    uint64_t size;        // bytes as stored in the archive (compressed size)
    uint64_t raw_size;    // bytes once extracted (uncompressed size)
    uint64_t offset;      // of the entry's bytes in the buffer (after its local header)
    const uint8_t *data;  // buf + offset
} bc_zip_entry;

typedef struct {
    const uint8_t *buf;
    size_t len;
    bc_zip_entry *entries;  // in central directory order
    size_t n;
    const bc_zip_entry **by_name;  // the entries sorted by name, for bc_zip_find
} bc_zip;

// Reads the directory of the zip archive in buf[0..len). The buffer must stay
// valid while z is used. Every offset and size is checked against the buffer;
// a directory that does not add up fails with a message saying what is wrong.
int bc_zip_open(bc_zip *z, const uint8_t *buf, size_t len, bc_err *err);
void bc_zip_close(bc_zip *z);

// The entry with exactly this name, or NULL.
const bc_zip_entry *bc_zip_find(const bc_zip *z, const char *name);

// The bytes of a stored entry, zero-copy. Fails for compressed or encrypted
// entries, naming the entry and the method.
int bc_zip_data(const bc_zip_entry *e, const uint8_t **data, uint64_t *size, bc_err *err);

#endif
