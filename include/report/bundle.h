/*
 * The evidence bundle: RUN/evidence.tar.gz, one self-contained file a
 * contact-center engineer attaches to a vendor support ticket (summary,
 * conflicts with their correlation ids, plots, the resolved scenario, the
 * tool version) with a SHA-256 manifest the vendor can check with
 * `sha256sum -c`.
 *
 * Invariants:
 *   - a bundle never holds a secret: every member (and every member name)
 *     is searched for the caller's forbidden strings before the archive is
 *     created, and a match refuses the whole bundle;
 *   - the same inputs give the same bytes: fixed member metadata, no time
 *     or name in the gzip header;
 *   - the archive appears under its real name only when complete (written
 *     to "<out_path>.tmp", synced, renamed).
 *
 * The archive is a POSIX ustar stream written here, compressed with zlib,
 * hashed with OpenSSL's EVP interface.  Files are read in fixed 64 KiB
 * blocks, never whole.
 */
#ifndef RT_REPORT_BUNDLE_H
#define RT_REPORT_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Length of a SHA-256 digest in lowercase hex, plus the terminating NUL. */
#define BUNDLE_SHA256_HEX 65

/*
 * SHA-256 of the file at @path as 64 lowercase hex digits and a NUL in @out.
 * Streams the file in 64 KiB blocks.  Errors: RT_ENOENT when @path does not
 * exist, RT_EIO when it cannot be opened or read (or is not a regular file);
 * either is logged once, naming @path.  @out is written only on success.
 * Thread-safe.
 */
enum rt_err bundle_sha256_file(const char *path, char out[BUNDLE_SHA256_HEX]);

/*
 * Write @out_path: a gzip-compressed POSIX ustar archive whose members all
 * live under the top directory @prefix (one path component, e.g.
 * "racetrace-evidence-predictive-bump-20261124T165927Z"):
 *
 *   @prefix/                          directory entry
 *   @prefix/<files[i]>                in the order given; a directory entry
 *                                     for "<sub>/" precedes the first file
 *                                     under each subdirectory <sub>
 *   @prefix/MANIFEST.sha256           last: "<64 hex>  <files[i]>\n" per
 *                                     file, in the same order, as read by
 *                                     `sha256sum -c` from inside @prefix
 *
 * @files[0..n_files) are paths relative to @dir: no leading '/', no "." or
 * ".." component, at most one level of subdirectory ("plots/swimlane.png"),
 * no control characters or backslash (sha256sum would escape them), no
 * duplicates and not "MANIFEST.sha256".  Each must be a regular file.
 *
 * Deterministic: every member has mtime @mtime_s (0 .. 8^11-1), uid/gid 0,
 * uname/gname "root", mode 0644 (0755 for directories); the gzip header
 * carries time 0 and no file name; the tar stream ends with two zero blocks
 * and is padded to the usual 10240-byte record.
 *
 * Refuses with RT_EINVAL, writing nothing, when any file's content or any
 * member name contains one of @forbidden[0..n_forbidden) as a byte
 * substring (matches straddling read blocks included); NULL and empty
 * entries are ignored and @forbidden may be NULL when @n_forbidden is 0.
 * The log line names the file and the index of the string that matched,
 * never the string itself: it is a secret.
 *
 * Other errors, each logged once naming its subject: RT_ENOENT for a
 * missing listed file; RT_EINVAL for a bad argument or a member name that
 * fits neither ustar's 100-byte name field nor its 155-byte prefix + name
 * split; RT_ERANGE for a file of 8 GiB or more; RT_EIO for a listed path
 * that is not a regular file, a read, write, sync or rename failure, or a
 * file that changed while being bundled.  On
 * any failure "<out_path>.tmp" is removed and @out_path is left as it was.
 *
 * All arguments are borrowed for the duration of the call.  Thread-safe for
 * different @out_path values.
 */
enum rt_err bundle_write(const char *dir, const char *const *files,
                         size_t n_files, const char *prefix, int64_t mtime_s,
                         const char *const *forbidden, size_t n_forbidden,
                         const char *out_path);

#endif
