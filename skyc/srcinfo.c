/* Source positions and comments: see srcinfo.h. Locations are sorted by
 * path once so each lookup is a binary search (a file with a thousand
 * methods has tens of thousands of locations). */
#include <stdarg.h>
#include <stdlib.h>
#include "srcinfo.h"

typedef Google__Protobuf__SourceCodeInfo__Location location;

typedef struct entry {
    const location *l;
    size_t order; /* protoc's: among equal paths the first is the declaration */
} entry;

struct skyc_srcinfo {
    const char *file;
    size_t n;
    entry *sorted;
};

static int cmp_path(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
    for (size_t i = 0; i < na && i < nb; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return na < nb ? -1 : na > nb;
}

static int cmp_entries(const void *a, const void *b)
{
    const entry *ea = a, *eb = b;
    int c = cmp_path(ea->l->path, ea->l->n_path, eb->l->path, eb->l->n_path);

    return c ? c : ea->order < eb->order ? -1 : ea->order > eb->order;
}

skyc_srcinfo *skyc_srcinfo_new(const Google__Protobuf__FileDescriptorProto *f)
{
    skyc_srcinfo *si = skyc_xmalloc(sizeof *si);
    const Google__Protobuf__SourceCodeInfo *info = f->source_code_info;

    si->file = f->name ? f->name : "";
    si->n = info ? info->n_location : 0;
    si->sorted = skyc_xmalloc((si->n ? si->n : 1) * sizeof *si->sorted);
    for (size_t i = 0; i < si->n; i++) {
        si->sorted[i].l = info->location[i];
        si->sorted[i].order = i;
    }
    qsort(si->sorted, si->n, sizeof *si->sorted, cmp_entries);
    return si;
}

void skyc_srcinfo_free(skyc_srcinfo *si)
{
    if (!si)
        return;
    free(si->sorted);
    free(si);
}

static const location *find(const skyc_srcinfo *si, const int32_t *path, size_t n)
{
    size_t lo = 0, hi = si->n;

    /* The first location whose path is >= path. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const location *l = si->sorted[mid].l;

        if (cmp_path(l->path, l->n_path, path, n) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < si->n && cmp_path(si->sorted[lo].l->path, si->sorted[lo].l->n_path, path, n) == 0)
        return si->sorted[lo].l;
    return NULL;
}

const char *skyc_srcinfo_comment(const skyc_srcinfo *si, const int32_t *path, size_t n)
{
    const location *l = find(si, path, n);

    return l && l->leading_comments ? l->leading_comments : "";
}

void skyc_srcinfo_where(const skyc_srcinfo *si, skyc_buf *b, const int32_t *path, size_t n)
{
    const location *l = find(si, path, n);
    long line = 1, col = 1;

    if (l && l->n_span >= 3) {
        line = (long)l->span[0] + 1;
        col = (long)l->span[1] + 1;
    }
    skyc_buf_printf(b, "%s:%ld:%ld", si->file, line, col);
}

void skyc_srcinfo_error(const skyc_srcinfo *si, skyc_buf *errs, const int32_t *path, size_t n,
                        const char *fmt, ...)
{
    va_list ap;

    skyc_srcinfo_where(si, errs, path, n);
    skyc_buf_puts(errs, ": ");
    va_start(ap, fmt);
    skyc_buf_vprintf(errs, fmt, ap);
    va_end(ap);
    skyc_buf_putc(errs, '\n');
}
