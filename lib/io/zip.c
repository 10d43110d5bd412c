// zip.c: the zip directory reader behind zip.h (APPNOTE.TXT 6.3).
//
// Layout read here, from the end of the buffer backwards:
//   [local header + name + extra + bytes] ...   one per entry
//   [central directory header + name + extra + comment] ...
//   [ZIP64 end of central directory record]     only in ZIP64 archives
//   [ZIP64 end of central directory locator]    only in ZIP64 archives
//   [end of central directory record + comment]
// torch.save (miniz) always writes the ZIP64 records, leaves the sizes in the
// local headers zero (a data descriptor follows the bytes) and pads each local
// header's extra field so the bytes start on a 64-byte boundary. So sizes come
// from the central directory, and the data offset from the *local* header's
// own name and extra lengths, which differ from the central ones.
#include "zip.h"

#include <stdlib.h>
#include <string.h>

enum {
    SIG_LOCAL = 0x04034b50,
    SIG_CENTRAL = 0x02014b50,
    SIG_END = 0x06054b50,
    SIG_END64 = 0x06064b50,
    SIG_LOCATOR64 = 0x07064b50,
    LOCAL_SIZE = 30,
    CENTRAL_SIZE = 46,
    END_SIZE = 22,
    LOCATOR64_SIZE = 20,
    END64_SIZE = 56,
    EXTRA_ZIP64 = 0x0001,
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

// Whether [off, off + n) lies inside a buffer of len bytes (no overflow).
static int in_range(uint64_t len, uint64_t off, uint64_t n) { return off <= len && n <= len - off; }

// Where the directory is, as the end records tell it.
typedef struct {
    uint64_t count;      // number of entries
    uint64_t cd_offset;  // central directory start
    uint64_t cd_size;
} zip_end;

// Finds the end of central directory record: the last "PK\5\6" whose comment
// length reaches exactly the end of the buffer (a comment may contain the
// signature itself, so the length must agree, not just the bytes).
static int find_end(const uint8_t *buf, size_t len, size_t *pos, bc_err *err) {
    if (len < END_SIZE) return bc_fail(err, "zip: %zu bytes is too short for a zip archive (truncated?)", len);
    size_t lowest = len - END_SIZE > 0xffff ? len - END_SIZE - 0xffff : 0;
    for (size_t p = len - END_SIZE + 1; p-- > lowest;) {
        if (rd32(buf + p) == SIG_END && p + END_SIZE + rd16(buf + p + 20) == len) {
            *pos = p;
            return 0;
        }
    }
    return bc_fail(err, "zip: no end of central directory record (not a zip archive, or truncated)");
}

static int read_end(const uint8_t *buf, size_t len, zip_end *end, bc_err *err) {
    size_t pos = 0;
    if (find_end(buf, len, &pos, err) < 0) return -1;
    const uint8_t *e = buf + pos;
    if (rd16(e + 4) != 0 || rd16(e + 6) != 0 || rd16(e + 8) != rd16(e + 10))
        return bc_fail(err, "zip: multi-disk archives are not supported");
    end->count = rd16(e + 10);
    end->cd_size = rd32(e + 12);
    end->cd_offset = rd32(e + 16);
    uint64_t dir_end = pos;  // the central directory must end before this

    // A ZIP64 locator right before the end record points to the ZIP64 end
    // record, whose 64-bit fields replace the (possibly saturated) 16/32-bit ones.
    if (pos >= LOCATOR64_SIZE && rd32(buf + pos - LOCATOR64_SIZE) == SIG_LOCATOR64) {
        const uint8_t *loc = buf + pos - LOCATOR64_SIZE;
        uint64_t off64 = rd64(loc + 8);
        if (!in_range(pos - LOCATOR64_SIZE, off64, END64_SIZE))
            return bc_fail(err, "zip: ZIP64 end record offset %llu is outside the file (%zu bytes)",
                           (unsigned long long)off64, len);
        const uint8_t *e64 = buf + off64;
        if (rd32(e64) != SIG_END64)
            return bc_fail(err, "zip: no ZIP64 end record at offset %llu where the locator points",
                           (unsigned long long)off64);
        if (rd32(e64 + 16) != 0 || rd32(e64 + 20) != 0 || rd64(e64 + 24) != rd64(e64 + 32))
            return bc_fail(err, "zip: multi-disk archives are not supported");
        end->count = rd64(e64 + 32);
        end->cd_size = rd64(e64 + 40);
        end->cd_offset = rd64(e64 + 48);
        dir_end = off64;
    } else if (end->count == 0xffff || end->cd_size == 0xffffffff || end->cd_offset == 0xffffffff) {
        return bc_fail(err, "zip: the end record says ZIP64 but there is no ZIP64 locator");
    }
    if (!in_range(dir_end, end->cd_offset, end->cd_size))
        return bc_fail(err, "zip: central directory (offset %llu, %llu bytes) runs past its end at %llu (truncated?)",
                       (unsigned long long)end->cd_offset, (unsigned long long)end->cd_size,
                       (unsigned long long)dir_end);
    if (end->count > end->cd_size / CENTRAL_SIZE)
        return bc_fail(err, "zip: the end record says %llu entries, but the central directory (%llu bytes) holds at most %llu",
                       (unsigned long long)end->count, (unsigned long long)end->cd_size,
                       (unsigned long long)(end->cd_size / CENTRAL_SIZE));
    return 0;
}

// Reads the ZIP64 extra field of a central header: the 64-bit values of the
// fields whose 32-bit slot holds 0xffffffff, in the order size, compressed
// size, local header offset.
static int read_zip64_extra(const uint8_t *x, size_t xlen, uint64_t *raw_size, uint64_t *size, uint64_t *offset,
                            const char *name, bc_err *err) {
    uint64_t *fields[3] = {raw_size, size, offset};
    int needed = 0;
    for (int i = 0; i < 3; i++) needed += *fields[i] == 0xffffffff;
    if (!needed) return 0;
    for (size_t p = 0; p + 4 <= xlen;) {
        uint16_t id = rd16(x + p), n = rd16(x + p + 2);
        if (n > xlen - p - 4) return bc_fail(err, "zip: entry '%s': extra field runs past its end", name);
        if (id == EXTRA_ZIP64) {
            const uint8_t *v = x + p + 4;
            size_t used = 0;
            for (int i = 0; i < 3; i++) {
                if (*fields[i] != 0xffffffff) continue;
                if (used + 8 > n) return bc_fail(err, "zip: entry '%s': ZIP64 extra field too short", name);
                *fields[i] = rd64(v + used);
                used += 8;
            }
            return 0;
        }
        p += 4 + (size_t)n;
    }
    return bc_fail(err, "zip: entry '%s': sizes say ZIP64 but there is no ZIP64 extra field", name);
}

// Checks the entry's local header and computes where its bytes start.
static int check_local(const uint8_t *buf, const zip_end *end, bc_zip_entry *e, bc_err *err) {
    if (!in_range(end->cd_offset, e->offset, LOCAL_SIZE))
        return bc_fail(err, "zip: entry '%s': local header offset %llu is past the entries' end at %llu", e->name,
                       (unsigned long long)e->offset, (unsigned long long)end->cd_offset);
    const uint8_t *h = buf + e->offset;
    if (rd32(h) != SIG_LOCAL)
        return bc_fail(err, "zip: entry '%s': no local header at offset %llu", e->name, (unsigned long long)e->offset);
    size_t nlen = rd16(h + 26), xlen = rd16(h + 28);
    uint64_t data = e->offset + LOCAL_SIZE + nlen + xlen;
    if (!in_range(end->cd_offset, e->offset + LOCAL_SIZE, nlen))
        return bc_fail(err, "zip: entry '%s': local header name runs past the entries' end", e->name);
    if (nlen != strlen(e->name) || memcmp(h + LOCAL_SIZE, e->name, nlen) != 0)
        return bc_fail(err, "zip: entry '%s': the local header names '%.*s' instead", e->name,
                       (int)(nlen > 200 ? 200 : nlen), (const char *)(h + LOCAL_SIZE));
    if (rd16(h + 8) != e->method)
        return bc_fail(err, "zip: entry '%s': local header says method %d, central directory %d", e->name,
                       rd16(h + 8), e->method);
    if (!in_range(end->cd_offset, data, e->size))
        return bc_fail(err, "zip: entry '%s': %llu bytes at offset %llu run past the entries' end at %llu (truncated?)",
                       e->name, (unsigned long long)e->size, (unsigned long long)data,
                       (unsigned long long)end->cd_offset);
    e->data = buf + data;
    return 0;
}

// Reads the central header at *pos (inside the directory [cd, cd_end)) into e.
static int read_central(const uint8_t *buf, uint64_t *pos, uint64_t cd_end, uint64_t index, bc_zip_entry *e,
                        bc_err *err) {
    if (!in_range(cd_end, *pos, CENTRAL_SIZE) || rd32(buf + *pos) != SIG_CENTRAL)
        return bc_fail(err, "zip: central directory entry %llu is missing or corrupt (the end record's count is wrong?)",
                       (unsigned long long)index);
    const uint8_t *h = buf + *pos;
    size_t nlen = rd16(h + 28), xlen = rd16(h + 30), clen = rd16(h + 32);
    if (!in_range(cd_end, *pos + CENTRAL_SIZE, (uint64_t)nlen + xlen + clen))
        return bc_fail(err, "zip: central directory entry %llu runs past the directory's end", (unsigned long long)index);
    const char *name = (const char *)(h + CENTRAL_SIZE);
    if (nlen == 0 || memchr(name, 0, nlen))
        return bc_fail(err, "zip: central directory entry %llu has an empty name or a NUL byte in it", (unsigned long long)index);
    e->name = bc_strndup(name, nlen);
    e->flags = rd16(h + 8);
    e->method = rd16(h + 10);
    e->size = rd32(h + 20);
    e->raw_size = rd32(h + 24);
    e->offset = rd32(h + 42);
    if (read_zip64_extra(h + CENTRAL_SIZE + nlen, xlen, &e->raw_size, &e->size, &e->offset, e->name, err) < 0) return -1;
    if (e->method == 0 && e->size != e->raw_size)
        return bc_fail(err, "zip: entry '%s' is stored but its sizes differ (%llu stored, %llu extracted)", e->name,
                       (unsigned long long)e->size, (unsigned long long)e->raw_size);
    *pos += CENTRAL_SIZE + nlen + xlen + clen;
    return 0;
}

static int by_name_cmp(const void *a, const void *b) {
    return strcmp((*(const bc_zip_entry *const *)a)->name, (*(const bc_zip_entry *const *)b)->name);
}

int bc_zip_open(bc_zip *z, const uint8_t *buf, size_t len, bc_err *err) {
    memset(z, 0, sizeof *z);
    z->buf = buf;
    z->len = len;
    zip_end end = {0};
    if (read_end(buf, len, &end, err) < 0) return -1;
    z->entries = bc_calloc(end.count ? end.count : 1, sizeof *z->entries);
    uint64_t pos = end.cd_offset, cd_end = end.cd_offset + end.cd_size;
    for (uint64_t i = 0; i < end.count; i++) {
        bc_zip_entry *e = &z->entries[i];
        z->n++;  // counted before its name is owned, so close frees it whatever fails
        if (read_central(buf, &pos, cd_end, i, e, err) < 0) goto fail;
        if (check_local(buf, &end, e, err) < 0) goto fail;
    }
    if (pos != cd_end) {
        bc_fail(err, "zip: the end record says %llu entries, but the central directory holds more",
                (unsigned long long)end.count);
        goto fail;
    }
    z->by_name = bc_malloc((z->n ? z->n : 1) * sizeof *z->by_name);
    for (size_t i = 0; i < z->n; i++) z->by_name[i] = &z->entries[i];
    qsort(z->by_name, z->n, sizeof *z->by_name, by_name_cmp);
    // Two entries with one name would make every lookup ambiguous.
    for (size_t i = 1; i < z->n; i++) {
        if (strcmp(z->by_name[i - 1]->name, z->by_name[i]->name) == 0) {
            bc_fail(err, "zip: entry '%s' appears twice", z->by_name[i]->name);
            goto fail;
        }
    }
    return 0;
fail:
    bc_zip_close(z);
    return -1;
}

void bc_zip_close(bc_zip *z) {
    for (size_t i = 0; i < z->n; i++) free(z->entries[i].name);
    free(z->entries);
    free(z->by_name);
    memset(z, 0, sizeof *z);
}

const bc_zip_entry *bc_zip_find(const bc_zip *z, const char *name) {
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(z->by_name[mid]->name, name);
        if (c == 0) return z->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int bc_zip_data(const bc_zip_entry *e, const uint8_t **data, uint64_t *size, bc_err *err) {
    if (e->flags & 1) return bc_fail(err, "zip: entry '%s' is encrypted", e->name);
    if (e->method != 0)
        return bc_fail(err, "zip: entry '%s' is compressed (method %d%s); only stored entries are supported "
                            "(torch.save never compresses)",
                       e->name, e->method, e->method == 8 ? ", deflate" : "");
    *data = e->data;
    *size = e->size;
    return 0;
}
