/*
 * Evidence bundle writer (see include/report/bundle.h).
 *
 * bundle_write() works in three steps so that a secret never touches the
 * disk, not even in the temporary file:
 *   1. check the arguments and every member name (forbidden strings first,
 *      so no later message can print a secret that sits in a name);
 *   2. read every file once, hashing it and searching it for the forbidden
 *      strings, and build the manifest;
 *   3. only then create "<out_path>.tmp" and stream the ustar archive
 *      through deflate, reading each file a second time; its hash must
 *      equal the first pass, so what is archived is what was searched.
 *
 * The search keeps the last (longest forbidden string - 1) bytes of each
 * block in front of the next one, so a match straddling two blocks is
 * found.  Nothing here is shared between calls: every buffer, hash context
 * and deflate stream belongs to one call, which is what makes the module
 * thread-safe.
 */
#include "report/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"

#define BLOCK_BYTES (64u * 1024)
#define PATH_BYTES 4096
#define MANIFEST_NAME "MANIFEST.sha256"
#define MANIFEST_MAX_BYTES (16u * 1024 * 1024)

/* ustar layout (POSIX.1-1988, pax "ustar" format). */
#define TAR_BLOCK 512
#define TAR_RECORD (20 * TAR_BLOCK)
#define TAR_NAME_MAX 100
#define TAR_PREFIX_MAX 155
#define TAR_OCTAL11_MAX 077777777777ull /* 11 octal digits: 8 GiB - 1 */
#define TAR_OFF_NAME 0
#define TAR_OFF_MODE 100
#define TAR_OFF_UID 108
#define TAR_OFF_GID 116
#define TAR_OFF_SIZE 124
#define TAR_OFF_MTIME 136
#define TAR_OFF_CHKSUM 148
#define TAR_OFF_TYPE 156
#define TAR_OFF_MAGIC 257
#define TAR_OFF_VERSION 263
#define TAR_OFF_UNAME 265
#define TAR_OFF_GNAME 297
#define TAR_OFF_DEVMAJOR 329
#define TAR_OFF_DEVMINOR 337
#define TAR_OFF_PREFIX 345

#define NO_MATCH ((size_t)-1)

/* The forbidden strings and the read window sized for the longest one. */
struct search {
    const char *const *needles; /* borrowed; NULL and "" entries skipped */
    size_t n_needles;
    size_t keep;           /* longest needle - 1: bytes carried over */
    unsigned char *window; /* keep + BLOCK_BYTES bytes, owned */
};

/* A gzip stream being written to a file descriptor. */
struct tarz {
    z_stream z;
    gz_header gzh; /* must outlive the first deflate() call */
    int fd;
    const char *path;   /* borrowed, for messages */
    uint64_t tar_bytes; /* uncompressed bytes so far */
    unsigned char out[BLOCK_BYTES];
};

/* What the first pass learnt about one listed file. */
struct member {
    const char *rel; /* borrowed from the caller's list */
    char hex[BUNDLE_SHA256_HEX];
    uint64_t size;
};

static void hex_encode(const unsigned char *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

/* Index of the first forbidden string inside @hay, or NO_MATCH. */
static size_t search_in(const struct search *s, const void *hay, size_t len)
{
    for (size_t i = 0; i < s->n_needles; i++) {
        const char *needle = s->needles[i];

        if (needle && *needle && memmem(hay, len, needle, strlen(needle)))
            return i;
    }
    return NO_MATCH;
}

static enum rt_err write_all(int fd, const char *path, const void *data,
                             size_t len)
{
    const unsigned char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return rt_fail(RT_EIO, "cannot write '%s': %s", path,
                           strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    return RT_OK;
}

static enum rt_err tarz_open(struct tarz *self, const char *path)
{
    memset(&self->z, 0, sizeof(self->z));
    memset(&self->gzh, 0, sizeof(self->gzh));
    self->path = path;
    self->tar_bytes = 0;
    /* windowBits 15 + 16 selects the gzip wrapper.  An explicit header with
     * time 0 and no name keeps the bytes independent of when and where the
     * bundle was made; os 3 (Unix) is what zlib would write here anyway. */
    if (deflateInit2(&self->z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return rt_fail(RT_EIO, "cannot start compressing '%s'", path);
    self->gzh.time = 0;
    self->gzh.os = 3;
    if (deflateSetHeader(&self->z, &self->gzh) != Z_OK) {
        deflateEnd(&self->z);
        return rt_fail(RT_EIO, "cannot set the gzip header of '%s'", path);
    }
    self->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (self->fd < 0) {
        deflateEnd(&self->z);
        return rt_fail(RT_EIO, "cannot create '%s': %s", path, strerror(errno));
    }
    self->z.next_out = self->out;
    self->z.avail_out = sizeof(self->out);
    return RT_OK;
}

/* Run deflate over the pending input, writing each full output buffer;
 * with Z_FINISH, until the gzip trailer is out. */
static enum rt_err tarz_deflate(struct tarz *self, int flush)
{
    for (;;) {
        int rc = deflate(&self->z, flush);

        if (rc == Z_STREAM_ERROR)
            return rt_fail(RT_EIO, "cannot compress '%s'", self->path);
        if (self->z.avail_out == 0 || rc == Z_STREAM_END) {
            size_t have = sizeof(self->out) - self->z.avail_out;
            enum rt_err err = write_all(self->fd, self->path, self->out, have);

            if (err)
                return err;
            self->z.next_out = self->out;
            self->z.avail_out = sizeof(self->out);
        }
        if (rc == Z_STREAM_END)
            return RT_OK;
        /* Output space left over means deflate took all the input. */
        if (flush != Z_FINISH && self->z.avail_in == 0 && self->z.avail_out > 0)
            return RT_OK;
    }
}

static enum rt_err tarz_put(struct tarz *self, const void *data, size_t len)
{
    /* The input pointer is not const in zlib's API, but deflate only
     * reads through it. */
    self->z.next_in = (Bytef *)(uintptr_t)data;
    self->z.avail_in = (uInt)len;
    self->tar_bytes += len;
    return tarz_deflate(self, Z_NO_FLUSH);
}

static enum rt_err tarz_zeros(struct tarz *self, size_t len)
{
    static const unsigned char zeros[TAR_BLOCK];
    enum rt_err err = RT_OK;

    while (len > 0 && !err) {
        size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

        err = tarz_put(self, zeros, n);
        len -= n;
    }
    return err;
}

/* Finish the stream and make it durable; closes the descriptor either way
 * (on success the caller renames, on failure it unlinks). */
static enum rt_err tarz_close(struct tarz *self, int finish)
{
    enum rt_err err = RT_OK;

    if (finish) {
        self->z.next_in = NULL;
        self->z.avail_in = 0;
        err = tarz_deflate(self, Z_FINISH);
        if (!err && fsync(self->fd))
            err = rt_fail(RT_EIO, "cannot sync '%s': %s", self->path,
                          strerror(errno));
    }
    deflateEnd(&self->z);
    if (close(self->fd) && !err)
        err = rt_fail(RT_EIO, "cannot close '%s': %s", self->path,
                      strerror(errno));
    return err;
}

/* Zero-padded octal in @width - 1 digits and a NUL; @v must fit. */
static void put_octal(unsigned char *field, size_t width, uint64_t v)
{
    field[width - 1] = '\0';
    for (size_t i = width - 1; i-- > 0;) {
        field[i] = (unsigned char)('0' + (v & 7));
        v >>= 3;
    }
}

/*
 * Where to split @name between ustar's prefix and name fields: 0 when it
 * fits the name field whole, else the index of the '/' that is dropped
 * between them.  -1 when no split fits.
 */
static long tar_split(const char *name)
{
    size_t len = strlen(name);

    if (len <= TAR_NAME_MAX)
        return 0;
    for (size_t i = 0; i < len && i <= TAR_PREFIX_MAX; i++) {
        size_t rest = len - i - 1;

        if (name[i] == '/' && rest > 0 && rest <= TAR_NAME_MAX)
            return (long)i;
    }
    return -1;
}

static enum rt_err tar_header(struct tarz *tz, const char *name, int is_dir,
                              uint64_t size, int64_t mtime_s)
{
    unsigned char h[TAR_BLOCK];
    long split = tar_split(name);
    size_t len = strlen(name);
    unsigned sum = 0;

    /* Names were checked before the archive was started. */
    if (split < 0)
        return rt_fail(RT_EINVAL, "name too long for ustar: '%s'", name);
    memset(h, 0, sizeof(h));
    if (split > 0) {
        memcpy(h + TAR_OFF_PREFIX, name, (size_t)split);
        memcpy(h + TAR_OFF_NAME, name + split + 1, len - (size_t)split - 1);
    } else {
        memcpy(h + TAR_OFF_NAME, name, len);
    }
    put_octal(h + TAR_OFF_MODE, 8, is_dir ? 0755 : 0644);
    put_octal(h + TAR_OFF_UID, 8, 0);
    put_octal(h + TAR_OFF_GID, 8, 0);
    put_octal(h + TAR_OFF_SIZE, 12, size);
    put_octal(h + TAR_OFF_MTIME, 12, (uint64_t)mtime_s);
    h[TAR_OFF_TYPE] = is_dir ? '5' : '0';
    memcpy(h + TAR_OFF_MAGIC, "ustar", 6);
    memcpy(h + TAR_OFF_VERSION, "00", 2);
    memcpy(h + TAR_OFF_UNAME, "root", 4);
    memcpy(h + TAR_OFF_GNAME, "root", 4);
    put_octal(h + TAR_OFF_DEVMAJOR, 8, 0);
    put_octal(h + TAR_OFF_DEVMINOR, 8, 0);
    /* The checksum is taken with its own field as eight spaces, then
     * stored as six octal digits, a NUL and a space. */
    memset(h + TAR_OFF_CHKSUM, ' ', 8);
    for (size_t i = 0; i < sizeof(h); i++)
        sum += h[i];
    put_octal(h + TAR_OFF_CHKSUM, 7, sum);
    h[TAR_OFF_CHKSUM + 7] = ' ';
    return tarz_put(tz, h, sizeof(h));
}

static enum rt_err open_regular(const char *path, int *out_fd)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return rt_fail(errno == ENOENT ? RT_ENOENT : RT_EIO,
                       "cannot open '%s': %s", path, strerror(errno));
    if (fstat(fd, &st)) {
        enum rt_err err =
            rt_fail(RT_EIO, "cannot stat '%s': %s", path, strerror(errno));

        close(fd);
        return err;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rt_fail(RT_EIO, "cannot read '%s': not a regular file", path);
    }
    *out_fd = fd;
    return RT_OK;
}

/*
 * Read @path to its end in BLOCK_BYTES blocks, hashing all of it into @hex
 * and counting it into @size.  When @match is not NULL, search it for
 * @s's strings and stop at the first hit (*match = its index; NO_MATCH when
 * none).  When @tz is not NULL, also feed the first @limit bytes into the
 * archive.
 */
static enum rt_err stream_file(const char *path, struct search *s,
                               size_t *match, struct tarz *tz, uint64_t limit,
                               char hex[BUNDLE_SHA256_HEX], uint64_t *size)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned digest_len = 0;
    EVP_MD_CTX *md = NULL;
    uint64_t total = 0;
    size_t carry = 0;
    enum rt_err err;
    int fd = -1;

    if (match)
        *match = NO_MATCH;
    if ((err = open_regular(path, &fd)))
        return err;
    md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        err = rt_fail(RT_EIO, "cannot start sha-256 of '%s'", path);
        goto out;
    }
    for (;;) {
        unsigned char *block = s->window + carry;
        ssize_t n = read(fd, block, BLOCK_BYTES);
        size_t got, avail;

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err =
                rt_fail(RT_EIO, "cannot read '%s': %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        got = (size_t)n;
        if (EVP_DigestUpdate(md, block, got) != 1) {
            err = rt_fail(RT_EIO, "cannot hash '%s'", path);
            goto out;
        }
        if (tz && total < limit) {
            uint64_t room = limit - total;
            size_t put = room < got ? (size_t)room : got;

            if ((err = tarz_put(tz, block, put)))
                goto out;
        }
        total += got;
        if (!match)
            continue;
        avail = carry + got;
        if ((*match = search_in(s, s->window, avail)) != NO_MATCH)
            goto out;
        /* Keep the tail that could begin a match ending in the next
         * block. */
        carry = avail < s->keep ? avail : s->keep;
        memmove(s->window, s->window + avail - carry, carry);
    }
    if (EVP_DigestFinal_ex(md, digest, &digest_len) != 1 || digest_len != 32) {
        err = rt_fail(RT_EIO, "cannot finish sha-256 of '%s'", path);
        goto out;
    }
    hex_encode(digest, digest_len, hex);
    *size = total;
out:
    EVP_MD_CTX_free(md);
    close(fd);
    return err;
}

enum rt_err bundle_sha256_file(const char *path, char out[BUNDLE_SHA256_HEX])
{
    struct search s = {0};
    char hex[BUNDLE_SHA256_HEX];
    uint64_t size;
    enum rt_err err;

    s.window = xmalloc(BLOCK_BYTES);
    err = stream_file(path, &s, NULL, NULL, 0, hex, &size);
    free(s.window);
    if (!err)
        memcpy(out, hex, sizeof(hex));
    return err;
}

/* Bytes sha256sum would escape, or that have no place in a member name. */
static int name_chars_ok(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c < 0x20 || c == 0x7f || c == '\\')
            return 0;
    }
    return 1;
}

static int component_ok(const char *s, size_t len)
{
    return len > 0 && !(len == 1 && s[0] == '.') &&
           !(len == 2 && s[0] == '.' && s[1] == '.');
}

/* A relative path of one or two components, as documented in bundle.h. */
static int rel_ok(const char *rel)
{
    const char *slash = strchr(rel, '/');

    if (!name_chars_ok(rel) || !strcmp(rel, MANIFEST_NAME))
        return 0;
    if (!slash)
        return component_ok(rel, strlen(rel));
    return !strchr(slash + 1, '/') &&
           component_ok(rel, (size_t)(slash - rel)) &&
           component_ok(slash + 1, strlen(slash + 1));
}

/* "<a>/<b>" (or "<a>/" when @b is ""), checked to fit ustar. */
static enum rt_err member_name(struct buf *name, const char *a, const char *b,
                               size_t b_len)
{
    buf_reset(name);
    if (buf_printf(name, "%s/%.*s", a, (int)b_len, b) ||
        tar_split(name->data) < 0)
        return rt_fail(RT_EINVAL, "name too long for ustar: '%s/%.*s'", a,
                       (int)b_len, b);
    return RT_OK;
}

/* Step 1: arguments and names, before any file is opened. */
static enum rt_err check_names(const char *const *files, size_t n_files,
                               const char *prefix, struct search *s)
{
    struct buf name;
    enum rt_err err = RT_OK;
    size_t hit;

    if ((hit = search_in(s, prefix, strlen(prefix))) != NO_MATCH)
        return rt_fail(RT_EINVAL,
                       "refusing to bundle: the top directory name contains "
                       "forbidden string %zu",
                       hit);
    if (!*prefix || strchr(prefix, '/') ||
        !component_ok(prefix, strlen(prefix)) || !name_chars_ok(prefix))
        return rt_fail(RT_EINVAL, "invalid bundle directory name '%s'", prefix);
    buf_init(&name, PATH_BYTES);
    if ((err = member_name(&name, prefix, "", 0)) ||
        (err =
             member_name(&name, prefix, MANIFEST_NAME, strlen(MANIFEST_NAME))))
        goto out;
    for (size_t i = 0; i < n_files; i++) {
        const char *rel = files[i];
        const char *slash;

        if (!rel) {
            err = rt_fail(RT_EINVAL, "bundle file %zu is NULL", i);
            goto out;
        }
        /* Searched before anything below can print the name. */
        if ((hit = search_in(s, rel, strlen(rel))) != NO_MATCH) {
            err = rt_fail(RT_EINVAL,
                          "refusing to bundle: the name of file %zu contains "
                          "forbidden string %zu",
                          i, hit);
            goto out;
        }
        if (!rel_ok(rel)) {
            err = rt_fail(RT_EINVAL, "invalid bundle member path '%s'", rel);
            goto out;
        }
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(files[j], rel)) {
                err =
                    rt_fail(RT_EINVAL, "'%s' listed twice in the bundle", rel);
                goto out;
            }
        }
        if ((err = member_name(&name, prefix, rel, strlen(rel))))
            goto out;
        slash = strchr(rel, '/');
        if (slash &&
            (err = member_name(&name, prefix, rel, (size_t)(slash - rel) + 1)))
            goto out;
    }
out:
    buf_release(&name);
    return err;
}

/* Step 2: hash and search every file; fill @members and @manifest. */
static enum rt_err scan_files(const char *dir, const char *const *files,
                              size_t n_files, struct search *s,
                              struct member *members, struct buf *manifest)
{
    struct buf path;
    enum rt_err err = RT_OK;
    size_t hit;

    buf_init(&path, PATH_BYTES);
    for (size_t i = 0; i < n_files; i++) {
        struct member *m = &members[i];

        m->rel = files[i];
        buf_reset(&path);
        if (buf_printf(&path, "%s/%s", dir, m->rel)) {
            err = rt_fail(RT_EINVAL, "path too long: '%s/%s'", dir, m->rel);
            goto out;
        }
        if ((err = stream_file(path.data, s, &hit, NULL, 0, m->hex, &m->size)))
            goto out;
        if (hit != NO_MATCH) {
            err = rt_fail(RT_EINVAL,
                          "refusing to bundle '%s': it contains forbidden "
                          "string %zu",
                          path.data, hit);
            goto out;
        }
        if (m->size > TAR_OCTAL11_MAX) {
            err = rt_fail(RT_ERANGE, "cannot bundle '%s': 8 GiB or larger",
                          path.data);
            goto out;
        }
        if (buf_printf(manifest, "%s  %s\n", m->hex, m->rel)) {
            err =
                rt_fail(RT_ETRUNC, "bundle manifest too large at '%s'", m->rel);
            goto out;
        }
    }
    /* Hashes are hex and names were searched, but a short forbidden
     * string could still be spelt by the two together. */
    if ((hit = search_in(s, buf_str(manifest), manifest->len)) != NO_MATCH)
        err = rt_fail(RT_EINVAL,
                      "refusing to bundle: '" MANIFEST_NAME
                      "' contains forbidden string %zu",
                      hit);
out:
    buf_release(&path);
    return err;
}

static enum rt_err pad_block(struct tarz *tz, uint64_t size)
{
    return tarz_zeros(tz, (size_t)((TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK));
}

/* Step 3, per file: its directory entry if new, header, data, padding.
 * The data is read again and must hash as it did in step 2. */
static enum rt_err archive_file(struct tarz *tz, const char *dir,
                                const char *prefix, const struct member *m,
                                const struct member *earlier, size_t n_earlier,
                                int64_t mtime_s, struct search *s)
{
    const char *slash = strchr(m->rel, '/');
    char hex[BUNDLE_SHA256_HEX];
    struct buf name, path;
    enum rt_err err;
    uint64_t size;
    int seen = 0;

    buf_init(&name, PATH_BYTES);
    buf_init(&path, PATH_BYTES);
    if (slash) {
        size_t dlen = (size_t)(slash - m->rel) + 1;

        for (size_t j = 0; j < n_earlier && !seen; j++)
            seen = !strncmp(earlier[j].rel, m->rel, dlen);
        if (!seen && ((err = member_name(&name, prefix, m->rel, dlen)) ||
                      (err = tar_header(tz, name.data, 1, 0, mtime_s))))
            goto out;
    }
    if ((err = member_name(&name, prefix, m->rel, strlen(m->rel))) ||
        (err = tar_header(tz, name.data, 0, m->size, mtime_s)))
        goto out;
    if (buf_printf(&path, "%s/%s", dir, m->rel)) {
        err = rt_fail(RT_EINVAL, "path too long: '%s/%s'", dir, m->rel);
        goto out;
    }
    if ((err = stream_file(path.data, s, NULL, tz, m->size, hex, &size)))
        goto out;
    if (size != m->size || strcmp(hex, m->hex)) {
        err = rt_fail(RT_EIO, "'%s' changed while being bundled", path.data);
        goto out;
    }
    err = pad_block(tz, size);
out:
    buf_release(&path);
    buf_release(&name);
    return err;
}

static enum rt_err write_archive(struct tarz *tz, const char *dir,
                                 const char *prefix, const struct member *m,
                                 size_t n, const struct buf *manifest,
                                 int64_t mtime_s, struct search *s)
{
    struct buf name;
    enum rt_err err;

    buf_init(&name, PATH_BYTES);
    if ((err = member_name(&name, prefix, "", 0)) ||
        (err = tar_header(tz, name.data, 1, 0, mtime_s)))
        goto out;
    for (size_t i = 0; i < n; i++)
        if ((err = archive_file(tz, dir, prefix, &m[i], m, i, mtime_s, s)))
            goto out;
    if ((err = member_name(&name, prefix, MANIFEST_NAME,
                           strlen(MANIFEST_NAME))) ||
        (err = tar_header(tz, name.data, 0, manifest->len, mtime_s)) ||
        (err = tarz_put(tz, buf_str(manifest), manifest->len)) ||
        (err = pad_block(tz, manifest->len)))
        goto out;
    /* Two zero blocks end the archive; tar itself pads the stream to a
     * whole record, and so do we. */
    if ((err = tarz_zeros(tz, 2 * TAR_BLOCK)))
        goto out;
    err = tarz_zeros(
        tz, (size_t)((TAR_RECORD - tz->tar_bytes % TAR_RECORD) % TAR_RECORD));
out:
    buf_release(&name);
    return err;
}

enum rt_err bundle_write(const char *dir, const char *const *files,
                         size_t n_files, const char *prefix, int64_t mtime_s,
                         const char *const *forbidden, size_t n_forbidden,
                         const char *out_path)
{
    struct search s = {forbidden, n_forbidden, 0, NULL};
    struct member *members = NULL;
    struct tarz *tz = NULL;
    struct buf manifest, tmp;
    enum rt_err err, close_err;

    buf_init(&manifest, MANIFEST_MAX_BYTES);
    buf_init(&tmp, PATH_BYTES);
    if (!dir || !prefix || !out_path || (n_files && !files) ||
        (n_forbidden && !forbidden)) {
        err = rt_fail(RT_EINVAL, "bundle_write: missing argument");
        goto out;
    }
    if (mtime_s < 0 || (uint64_t)mtime_s > TAR_OCTAL11_MAX) {
        err = rt_fail(RT_EINVAL, "bundle time %lld out of the ustar range",
                      (long long)mtime_s);
        goto out;
    }
    for (size_t i = 0; i < n_forbidden; i++) {
        size_t len = forbidden[i] ? strlen(forbidden[i]) : 0;

        if (len > s.keep + 1)
            s.keep = len - 1;
    }
    if (s.keep > SIZE_MAX - BLOCK_BYTES) {
        err = rt_fail(RT_EINVAL, "forbidden string too long");
        goto out;
    }
    s.window = xmalloc(s.keep + BLOCK_BYTES);
    if ((err = check_names(files, n_files, prefix, &s)))
        goto out;
    members = xcalloc(n_files ? n_files : 1, sizeof(*members));
    if ((err = scan_files(dir, files, n_files, &s, members, &manifest)))
        goto out;

    if (buf_printf(&tmp, "%s.tmp", out_path)) {
        err = rt_fail(RT_EINVAL, "path too long: '%s'", out_path);
        goto out;
    }
    tz = xmalloc(sizeof(*tz));
    if ((err = tarz_open(tz, tmp.data))) {
        free(tz);
        tz = NULL;
        goto out;
    }
    err = write_archive(tz, dir, prefix, members, n_files, &manifest, mtime_s,
                        &s);
    close_err = tarz_close(tz, !err);
    if (!err)
        err = close_err;
    if (!err && rename(tmp.data, out_path))
        err = rt_fail(RT_EIO, "cannot rename '%s' to '%s': %s", tmp.data,
                      out_path, strerror(errno));
    if (err)
        unlink(tmp.data);
out:
    free(tz);
    free(members);
    free(s.window);
    buf_release(&tmp);
    buf_release(&manifest);
    return err;
}
