/* config.c - parser for the machine configuration file (see config.h). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { K_MEMORY, K_KERNEL, K_INITRD, K_CMDLINE, K_ROM, K_CONSOLE, K_CPUS, K_JIT_CACHE, K_IMAGE,
       K_COUNT, K_SEEN = 16 };
_Static_assert(K_COUNT <= K_SEEN, "seen[] holds every keyword");

/* Parser state for one file. */
struct parse {
    struct config *cfg;
    const char *path;
    char *dir;                 /* folder of the config file, with '/' */
    int line;
    int seen[K_SEEN];          /* line where each keyword was set */
    bool restoring;            /* --restore: nothing to boot is fine */
    char *err;
    size_t errlen;
};

static const char *const keywords[K_COUNT] = {
    "memory", "kernel", "initrd", "cmdline", "rom", "console", "cpus", "jit-cache", "image",
};

__attribute__((format(printf, 3, 4)))
static int perr(struct parse *ps, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
        snprintf(ps->err, ps->errlen, "%s:%d: %s", ps->path, line, msg);
    else
        snprintf(ps->err, ps->errlen, "%s: %s", ps->path, msg);
    return -1;
}

int config_parse_number(const char *s, int hex_ok, uint64_t *v)
{
    unsigned base = 10;
    if (hex_ok && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s)
        return -1;
    uint64_t n = 0;
    for (; *s; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9')
            d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            d = (unsigned)(*s - 'A' + 10);
        else
            return -1;
        if (n > (UINT64_MAX - d) / base)
            return -1;
        n = n * base + d;
    }
    *v = n;
    return 0;
}

int config_parse_size(const char *s, uint64_t *bytes)
{
    size_t len = strlen(s);
    int shift = 0;
    if (len) {
        switch (s[len - 1]) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        default: break;
        }
    }
    char digits[32];
    size_t nd = shift ? len - 1 : len;
    if (nd >= sizeof(digits))
        return -1;           /* more digits than any 64-bit number has */
    memcpy(digits, s, nd);
    digits[nd] = 0;
    uint64_t v;
    if (config_parse_number(digits, 0, &v))
        return -1;
    if (shift && v > (UINT64_MAX >> shift))
        return -1;
    *bytes = v << shift;
    return 0;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "vsmp: out of memory\n");
        exit(2);
    }
    return d;
}

/* PATH as written, made relative to the config's folder, checked to be a
 * readable regular file (and, with nonempty, not of length zero). */
static int take_path_check(struct parse *ps, const char *kw, const char *arg, bool nonempty,
                           char **out)
{
    size_t n = strlen(ps->dir) + strlen(arg) + 1;
    char *full = malloc(n);
    if (!full)
        return perr(ps, ps->line, "out of memory");
    if (arg[0] == '/')
        snprintf(full, n, "%s", arg);
    else
        snprintf(full, n, "%s%s", ps->dir, arg);
    struct stat st;
    if (stat(full, &st) != 0 || access(full, R_OK) != 0) {
        int e = errno;
        free(full);
        return perr(ps, ps->line, "%s '%s': %s", kw, arg, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        free(full);
        return perr(ps, ps->line, "%s '%s': not a regular file", kw, arg);
    }
    if (nonempty && st.st_size == 0) {
        free(full);
        return perr(ps, ps->line, "%s '%s': empty (zero length)", kw, arg);
    }
    *out = full;
    return 0;
}

static int take_path(struct parse *ps, const char *kw, const char *arg, char **out)
{
    return take_path_check(ps, kw, arg, false, out);
}

/* `disk PATH [ro]`: up to CONFIG_MAX_DISKS lines, in file order. */
static int take_disk(struct parse *ps, char *arg, int nargs)
{
    struct config *cfg = ps->cfg;
    if (nargs == 0)
        return perr(ps, ps->line, "'disk' needs an image path (disk PATH [ro])");
    if (nargs > 2)
        return perr(ps, ps->line, "'disk' takes a path and optionally 'ro', got '%s'", arg);
    if (cfg->ndisks == CONFIG_MAX_DISKS)
        return perr(ps, ps->line, "more than %d 'disk' lines (the first on line %d)",
                    CONFIG_MAX_DISKS, cfg->disk[0].line);
    char *second = NULL;
    if (nargs == 2) {
        char *p = arg;
        while (*p && !isspace((unsigned char)*p))
            p++;
        *p++ = 0;
        while (isspace((unsigned char)*p))
            p++;
        second = p;
        if (strcmp(second, "ro"))
            return perr(ps, ps->line, "'disk %s %s': the second word can only be 'ro'", arg,
                        second);
    }
    struct config_disk *d = &cfg->disk[cfg->ndisks];
    if (take_path_check(ps, "disk", arg, true, &d->path))
        return -1;
    d->ro = second != NULL;
    d->line = ps->line;
    cfg->ndisks++;
    return 0;
}

/* One setting. `arg` is the rest of the line, trimmed; nargs counts its
 * words. */
static int setting(struct parse *ps, int k, char *arg, int nargs)
{
    struct config *cfg = ps->cfg;
    const char *kw = keywords[k];
    if (ps->seen[k])
        return perr(ps, ps->line, "duplicate '%s' (already set on line %d)", kw, ps->seen[k]);
    ps->seen[k] = ps->line;
    if (nargs == 0)
        return perr(ps, ps->line, "'%s' needs a value", kw);
    if (k != K_CMDLINE && nargs > 1)
        return perr(ps, ps->line, "'%s' takes one value, got '%s'", kw, arg);
    switch (k) {
    case K_MEMORY: {
        uint64_t b;
        if (config_parse_size(arg, &b))
            return perr(ps, ps->line, "bad memory size '%s' (use e.g. 256M, 1G)", arg);
        if (b < CONFIG_MEM_MIN || b > CONFIG_MEM_MAX)
            return perr(ps, ps->line, "memory size '%s' out of range (1M..3G)", arg);
        if (b % 4096)
            return perr(ps, ps->line, "memory size '%s' is not a multiple of 4K", arg);
        cfg->memory = (uint32_t)b;
        return 0;
    }
    case K_KERNEL: return take_path(ps, kw, arg, &cfg->kernel);
    case K_INITRD: return take_path(ps, kw, arg, &cfg->initrd);
    case K_ROM:    return take_path(ps, kw, arg, &cfg->rom);
    case K_IMAGE:
        cfg->image_line = ps->line;
        return take_path(ps, kw, arg, &cfg->image);
    case K_CMDLINE:
        cfg->cmdline = xstrdup(arg);
        return 0;
    case K_CONSOLE:
        if (!strcmp(arg, "stdio"))
            cfg->console = CONSOLE_STDIO;
        else if (!strcmp(arg, "none"))
            cfg->console = CONSOLE_NONE;
        else
            return perr(ps, ps->line, "console must be 'stdio' or 'none', not '%s'", arg);
        return 0;
    case K_CPUS: {
        uint64_t v;
        if (config_parse_number(arg, 0, &v) || v < 1 || v > 4096)
            return perr(ps, ps->line, "bad cpus value '%s' (a number from 1 to 4096)", arg);
        cfg->cpus = (int)v;
        cfg->cpus_line = ps->line;
        return 0;
    }
    case K_JIT_CACHE: {
        uint64_t b;
        if (config_parse_size(arg, &b) || b < CONFIG_JIT_CACHE_MIN || b > CONFIG_JIT_CACHE_MAX)
            return perr(ps, ps->line, "bad jit-cache size '%s' (1M..1G, e.g. 32M)", arg);
        cfg->jit_cache = b;
        return 0;
    }
    }
    return 0;
}

/* Strip a comment (a '#' at the start of a word) and trailing space. */
static void strip(char *s)
{
    for (char *p = s; *p; p++) {
        if (*p == '#' && (p == s || isspace((unsigned char)p[-1]))) {
            *p = 0;
            break;
        }
    }
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = 0;
}

static int parse_line(struct parse *ps, char *s)
{
    strip(s);
    while (isspace((unsigned char)*s))
        s++;
    if (!*s)
        return 0;
    char *kw = s;
    while (*s && !isspace((unsigned char)*s))
        s++;
    if (*s)
        *s++ = 0;
    while (isspace((unsigned char)*s))
        s++;
    int nargs = 0;
    for (char *p = s; *p;) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        nargs++;
        while (*p && !isspace((unsigned char)*p))
            p++;
    }
    for (int k = 0; k < K_COUNT; k++)
        if (!strcmp(kw, keywords[k]))
            return setting(ps, k, s, nargs);
    if (!strcmp(kw, "disk"))
        return take_disk(ps, s, nargs);
    return perr(ps, ps->line, "unknown keyword '%s'", kw);
}

static int check_whole(struct parse *ps)
{
    struct config *cfg = ps->cfg;
    int end = cfg->lines > 0 ? cfg->lines : 1;
    if (cfg->kernel && cfg->rom) {
        int later = ps->seen[K_KERNEL] > ps->seen[K_ROM] ? ps->seen[K_KERNEL] : ps->seen[K_ROM];
        return perr(ps, later, "give either 'kernel' or 'rom', not both (kernel on line %d, rom on line %d)",
                    ps->seen[K_KERNEL], ps->seen[K_ROM]);
    }
    if (!cfg->kernel && !cfg->rom && !cfg->image && !ps->restoring)
        return perr(ps, end, "no 'kernel' or 'rom' setting: nothing to boot");
    if (cfg->rom && (cfg->initrd || cfg->cmdline)) {
        int k = cfg->initrd ? K_INITRD : K_CMDLINE;
        return perr(ps, ps->seen[k], "'%s' needs a 'kernel' (a rom boots on its own)", keywords[k]);
    }
    return 0;
}

/* Read the next line into buf (CONFIG_LINE_MAX bytes and a NUL) without
 * its newline: 1, 0 at the end of the file, or -1 after an error (a read
 * error, a NUL byte, a line or file too long). *total counts the bytes. */
static int read_line(struct parse *ps, FILE *f, char *buf, size_t *total)
{
    size_t n = 0;
    int c;
    errno = 0;
    while ((c = getc(f)) != EOF) {
        if (++*total > CONFIG_FILE_MAX)
            return perr(ps, 0, "longer than %u bytes: not a configuration file", CONFIG_FILE_MAX);
        if (c == '\n')
            break;
        if (c == 0)
            return perr(ps, ps->line, "NUL byte at column %zu: not a text file", n + 1);
        if (n == CONFIG_LINE_MAX)
            return perr(ps, ps->line, "line longer than %u bytes", CONFIG_LINE_MAX);
        buf[n++] = (char)c;
    }
    buf[n] = 0;
    if (c == EOF && ferror(f))
        return perr(ps, 0, "read error: %s", strerror(errno ? errno : EIO));
    return c == EOF && n == 0 ? 0 : 1;
}

int config_parse(const char *path, struct config *cfg, char *err, size_t errlen)
{
    return config_parse_restoring(path, cfg, false, err, errlen);
}

int config_parse_restoring(const char *path, struct config *cfg, bool restoring, char *err,
                           size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->memory = CONFIG_MEM_DEFAULT;
    cfg->console = CONSOLE_STDIO;
    struct parse ps = { .cfg = cfg, .path = path, .err = err, .errlen = errlen,
                        .restoring = restoring };

    FILE *f = fopen(path, "r");
    if (!f)
        return perr(&ps, 0, "cannot open: %s", strerror(errno));
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    ps.dir = malloc(dlen + 1);
    char *buf = malloc(CONFIG_LINE_MAX + 1);
    if (!ps.dir || !buf) {
        free(ps.dir);
        free(buf);
        fclose(f);
        return perr(&ps, 0, "out of memory");
    }
    memcpy(ps.dir, path, dlen);
    ps.dir[dlen] = 0;

    size_t total = 0;
    int rc = 0, more;
    while (ps.line++, (more = read_line(&ps, f, buf, &total)) > 0) {
        cfg->lines = ps.line;
        if ((rc = parse_line(&ps, buf)) != 0)
            break;
    }
    if (more < 0)
        rc = -1;
    if (!rc)
        rc = check_whole(&ps);
    free(buf);
    free(ps.dir);
    fclose(f);
    cfg->file = xstrdup(path);
    if (rc)
        config_free(cfg);
    return rc;
}

void config_free(struct config *cfg)
{
    free(cfg->file);
    free(cfg->kernel);
    free(cfg->initrd);
    free(cfg->rom);
    free(cfg->cmdline);
    free(cfg->image);
    for (int i = 0; i < cfg->ndisks; i++)
        free(cfg->disk[i].path);
    memset(cfg, 0, sizeof(*cfg));
}

int config_check_cpus(const struct config *cfg, int ranks, char *err, size_t errlen)
{
    if (cfg->cpus == 0 || cfg->cpus == ranks)
        return 0;
    snprintf(err, errlen, "%s:%d: cpus %d does not match the %d MPI rank%s of this job",
             cfg->file, cfg->cpus_line, cfg->cpus, ranks, ranks == 1 ? "" : "s");
    return -1;
}
