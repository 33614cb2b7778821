/* images/mkcpio.c - writes a cpio archive in the "newc" format (the one
 * the Linux kernel unpacks as an initramfs) from a list of entries, so
 * that device nodes can be in the archive without root and the archive is
 * reproducible: every entry has uid 0, gid 0, mtime 0 and inode numbers
 * in list order. A 64-bit host program (it runs during `make images`).
 *
 *   mkcpio LIST > archive.cpio
 *
 * LIST has one entry a line, fields separated by blanks, `#` comments:
 *   dir   PATH MODE
 *   file  PATH MODE HOSTFILE       (HOSTFILE relative to the current folder)
 *   slink PATH MODE TARGET
 *   nod   PATH MODE c|b MAJOR MINOR
 * PATH is the path in the archive (a leading "/" is dropped), MODE octal
 * permission bits. Errors name LIST:LINE and exit with status 2. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LINE_MAX_LEN 4096

struct out {
    FILE *f;
    unsigned long long pos;   /* bytes written so far (for the padding) */
    unsigned ino;             /* the next inode number */
};

static void die(const char *list, int line, const char *msg, const char *arg)
{
    if (line)
        fprintf(stderr, "mkcpio: %s:%d: %s%s%s\n", list, line, msg, arg ? ": " : "", arg ? arg : "");
    else
        fprintf(stderr, "mkcpio: %s: %s%s%s\n", list, msg, arg ? ": " : "", arg ? arg : "");
    exit(2);
}

static void put(struct out *o, const void *p, size_t n)
{
    if (n && fwrite(p, 1, n, o->f) != n) {
        fprintf(stderr, "mkcpio: write error: %s\n", strerror(errno));
        exit(2);
    }
    o->pos += n;
}

static void pad4(struct out *o)
{
    static const char zero[4];
    put(o, zero, (size_t)((4 - o->pos % 4) % 4));
}

/* One header, the name and its padding; the caller writes the data. */
static void header(struct out *o, const char *name, unsigned mode, unsigned long size,
                   unsigned rmaj, unsigned rmin)
{
    char h[111];
    unsigned nlink = (mode & S_IFMT) == S_IFDIR ? 2 : 1;
    size_t namesize = strlen(name) + 1;
    int n = snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08lX%08X%08X%08X%08X%08zX%08X",
                     o->ino++, mode, 0u, 0u, nlink, 0u, size, 0u, 0u, rmaj, rmin, namesize, 0u);
    if (n != 110) {
        fprintf(stderr, "mkcpio: header of %s does not fit\n", name);
        exit(2);
    }
    put(o, h, 110);
    put(o, name, namesize);
    pad4(o);
}

static unsigned parse_mode(const char *list, int line, const char *s)
{
    char *end;
    unsigned long m;
    if (!s)
        die(list, line, "missing MODE", NULL);
    errno = 0;
    m = strtoul(s, &end, 8);
    if (errno || *end || end == s || m > 07777)
        die(list, line, "bad MODE (octal, at most 07777)", s);
    return (unsigned)m;
}

static unsigned parse_num(const char *list, int line, const char *s, const char *what)
{
    char *end;
    unsigned long v;
    if (!s)
        die(list, line, "missing", what);
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > 0xfffffu)
        die(list, line, "bad number", s);
    return (unsigned)v;
}

static void add_file(struct out *o, const char *list, int line, const char *name, unsigned mode,
                     const char *host)
{
    FILE *in = fopen(host, "rb");
    struct stat st;
    char buf[65536];
    size_t n;
    unsigned long long left;
    if (!in)
        die(list, line, strerror(errno), host);
    if (fstat(fileno(in), &st) != 0 || !S_ISREG(st.st_mode))
        die(list, line, "not a regular file", host);
    if ((unsigned long long)st.st_size > 0xffffffffull)
        die(list, line, "file larger than 4 GiB", host);
    header(o, name, S_IFREG | mode, (unsigned long)st.st_size, 0, 0);
    left = (unsigned long long)st.st_size;
    while (left && (n = fread(buf, 1, sizeof buf < left ? sizeof buf : (size_t)left, in)) > 0) {
        put(o, buf, n);
        left -= n;
    }
    if (left || ferror(in))
        die(list, line, "read error or file changed while read", host);
    fclose(in);
    pad4(o);
}

int main(int argc, char **argv)
{
    struct out o = { stdout, 0, 1 };
    char line[LINE_MAX_LEN + 2];
    int lineno = 0;
    FILE *l;
    if (argc != 2) {
        fprintf(stderr, "usage: mkcpio LIST > archive.cpio\n");
        return 2;
    }
    l = fopen(argv[1], "r");
    if (!l)
        die(argv[1], 0, strerror(errno), NULL);
    while (fgets(line, sizeof line, l)) {
        char *f[7] = { 0 }, *save, *c, *name;
        int nf = 0;
        unsigned mode;
        lineno++;
        if (!strchr(line, '\n') && !feof(l))
            die(argv[1], lineno, "line too long", NULL);
        if ((c = strchr(line, '#')))
            *c = 0;
        for (c = strtok_r(line, " \t\r\n", &save); c && nf < 7; c = strtok_r(NULL, " \t\r\n", &save))
            f[nf++] = c;
        if (nf == 0)
            continue;
        if (nf < 3)
            die(argv[1], lineno, "too few fields", f[0]);
        name = f[1];
        while (*name == '/')
            name++;
        if (!*name)
            die(argv[1], lineno, "empty PATH", f[1]);
        mode = parse_mode(argv[1], lineno, f[2]);
        if (!strcmp(f[0], "dir") && nf == 3) {
            header(&o, name, S_IFDIR | mode, 0, 0, 0);
        } else if (!strcmp(f[0], "file") && nf == 4) {
            add_file(&o, argv[1], lineno, name, mode, f[3]);
        } else if (!strcmp(f[0], "slink") && nf == 4) {
            header(&o, name, S_IFLNK | mode, (unsigned long)strlen(f[3]), 0, 0);
            put(&o, f[3], strlen(f[3]));
            pad4(&o);
        } else if (!strcmp(f[0], "nod") && nf == 6 && (!strcmp(f[3], "c") || !strcmp(f[3], "b"))) {
            unsigned maj = parse_num(argv[1], lineno, f[4], "MAJOR");
            unsigned min = parse_num(argv[1], lineno, f[5], "MINOR");
            header(&o, name, (f[3][0] == 'c' ? S_IFCHR : S_IFBLK) | mode, 0, maj, min);
        } else {
            die(argv[1], lineno, "unknown entry or wrong number of fields", f[0]);
        }
    }
    if (ferror(l))
        die(argv[1], 0, "read error", NULL);
    fclose(l);
    header(&o, "TRAILER!!!", 0, 0, 0, 0);
    pad4(&o);
    /* padded to whole 512-byte blocks, as cpio archives conventionally
     * are (the kernel accepts either) */
    while (o.pos % 512)
        put(&o, "", 1);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "mkcpio: write error: %s\n", strerror(errno));
        return 2;
    }
    return 0;
}
