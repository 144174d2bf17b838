/* Names: see names.h. The protobuf-c rules follow protoc-c/c_helpers.cc
 * (FullNameToC, FullNameToLower, FullNameToUpper): split the full name at
 * dots, convert each piece, join with "__". The conversions look at ASCII
 * letters only, as the C locale does in protoc-c. */
#include <stdlib.h>
#include <string.h>
#include "names.h"

static int is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

/* ToCamel: drop underscores, upper-case the first letter and each letter
 * after an underscore. */
static void to_camel(skyc_buf *b, const char *s, size_t n)
{
    int next_upper = 1;

    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            next_upper = 1;
        } else if (next_upper) {
            skyc_buf_putc(b, is_lower(s[i]) ? (char)(s[i] - 'a' + 'A') : s[i]);
            next_upper = 0;
        } else {
            skyc_buf_putc(b, s[i]);
        }
    }
}

/* CamelToLower / CamelToUpper: an underscore before each capital that
 * follows a non-capital, then one case throughout. */
static void camel_to(skyc_buf *b, const char *s, size_t n, int upper)
{
    int was_upper = 1;

    for (size_t i = 0; i < n; i++) {
        int up = is_upper(s[i]);
        char c = s[i];

        if (up && !was_upper)
            skyc_buf_putc(b, '_');
        if (upper && is_lower(c))
            c = (char)(c - 'a' + 'A');
        else if (!upper && up)
            c = (char)(c - 'A' + 'a');
        skyc_buf_putc(b, c);
        was_upper = up;
    }
}

enum style { CAMEL, LOWER, UPPER };

static void full_name(skyc_buf *b, const char *name, enum style style)
{
    int first = 1;

    while (*name) {
        size_t n = strcspn(name, ".");

        if (n > 0) {
            if (!first)
                skyc_buf_puts(b, "__");
            first = 0;
            if (style == CAMEL)
                to_camel(b, name, n);
            else
                camel_to(b, name, n, style == UPPER);
        }
        name += n;
        if (*name == '.')
            name++;
    }
}

void skyc_name_c_type(skyc_buf *b, const char *full)
{
    full_name(b, full, CAMEL);
}

void skyc_name_c_lower(skyc_buf *b, const char *full)
{
    full_name(b, full, LOWER);
}

void skyc_name_c_upper(skyc_buf *b, const char *full)
{
    full_name(b, full, UPPER);
}

static int cmp_str(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

static int in_list(const char *name, const char *const *list, size_t n)
{
    return bsearch(name, list, n, sizeof *list, cmp_str) != NULL;
}

/* Sorted (bsearch). C11 and C23 keywords, then names that are macros in
 * every C file that includes the standard headers the stubs use, or that
 * GCC predefines in gnu modes. */
static const char *const c_reserved[] = {
    "EOF", "NULL", "_Alignas", "_Alignof", "_Atomic", "_BitInt", "_Bool", "_Complex",
    "_Decimal128", "_Decimal32", "_Decimal64", "_Generic", "_Imaginary", "_Noreturn",
    "_Static_assert", "_Thread_local", "alignas", "alignof", "assert", "auto", "bool",
    "break", "case", "char", "const", "constexpr", "continue", "default", "do", "double",
    "else", "enum", "errno", "extern", "false", "float", "for", "goto", "i386", "if",
    "inline", "int", "linux", "long", "nullptr", "offsetof", "register", "restrict",
    "return", "short", "signed", "sizeof", "static", "static_assert", "stderr", "stdin",
    "stdout", "struct", "switch", "thread_local", "true", "typedef", "typeof",
    "typeof_unqual", "union", "unix", "unsigned", "void", "volatile", "while",
};

static const char *const lua_reserved[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto",
    "if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until",
    "while",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

int skyc_name_c_reserved(const char *name)
{
    return in_list(name, c_reserved, COUNT(c_reserved));
}

void skyc_name_c_safe(skyc_buf *b, const char *name)
{
    skyc_buf_puts(b, name);
    if (skyc_name_c_reserved(name))
        skyc_buf_putc(b, '_');
}

void skyc_name_lua_safe(skyc_buf *b, const char *name)
{
    skyc_buf_puts(b, name);
    if (in_list(name, lua_reserved, COUNT(lua_reserved)))
        skyc_buf_putc(b, '_');
}

/* Names that begin sky's own (`sky_...`, `SKY_...`, or the bare prefix). */
static int in_sky_namespace(const char *s, size_t n)
{
    return n >= 3 && (strncmp(s, "sky", 3) == 0 || strncmp(s, "SKY", 3) == 0) && (n == 3 || s[3] == '_');
}

/* Appends package with dots made underscores, and a "_" after it. */
static void package_prefix(skyc_buf *b, const char *package)
{
    for (const char *p = package; *p; p++)
        skyc_buf_putc(b, *p == '.' ? '_' : *p);
    if (*package)
        skyc_buf_putc(b, '_');
}

/* Appends prefix + name, with "proto_" before it when the file shares
 * sky's namespace (no package, or package "sky") and the result would be
 * in it. b must be empty up to `start`. */
static void finish_prefix(skyc_buf *b, size_t start, const char *package)
{
    if ((!*package || strcmp(package, "sky") == 0) && in_sky_namespace(b->data + start, b->len - start)) {
        size_t n = b->len - start;
        char *name = skyc_xmalloc(n + 1);

        memcpy(name, b->data + start, n);
        name[n] = '\0';
        b->len = start;
        skyc_buf_printf(b, "proto_%s", name);
        free(name);
    }
}

void skyc_name_c_prefix(skyc_buf *b, const char *package)
{
    package_prefix(b, package ? package : "");
}

void skyc_name_c_service(skyc_buf *b, const char *package, const char *service)
{
    size_t start = b->len;

    package = package ? package : "";
    package_prefix(b, package);
    skyc_buf_puts(b, service ? service : "");
    finish_prefix(b, start, package);
}

void skyc_name_c_file(skyc_buf *b, const char *file_name, const char *package)
{
    size_t start = b->len, len = strlen(file_name), dir, rest = 0;
    const char *slash = strrchr(file_name, '/');

    package = package ? package : "";
    if (len >= 6 && strcmp(file_name + len - 6, ".proto") == 0)
        len -= 6;
    dir = slash ? (size_t)(slash - file_name) : 0;
    /* The directories that spell the package (acme/v1/x.proto in acme.v1)
     * say nothing the prefix does not. */
    if (strlen(package) == dir) {
        rest = slash ? dir + 1 : 0;
        for (size_t i = 0; i < dir; i++)
            if (file_name[i] != (package[i] == '.' ? '/' : package[i]))
                rest = 0;
    }
    package_prefix(b, package);
    if (rest < len && file_name[rest] >= '0' && file_name[rest] <= '9')
        skyc_buf_puts(b, "proto_");
    for (size_t i = rest; i < len; i++) {
        char c = file_name[i];
        int word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';

        skyc_buf_putc(b, word ? c : '_');
    }
    finish_prefix(b, start, package);
}

uint32_t skyc_fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}
