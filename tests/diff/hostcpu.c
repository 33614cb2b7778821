/* hostcpu.c - the host CPU's identity from CPUID (see hostcpu.h). */
#include <cpuid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostcpu.h"

void hostcpu_get(struct hostcpu *c)
{
    unsigned a, b, cc, d;
    memset(c, 0, sizeof(*c));
    if (!__get_cpuid(0, &a, &b, &cc, &d)) {
        snprintf(c->vendor, sizeof(c->vendor), "unknown");
        return;
    }
    memcpy(c->vendor, &b, 4);
    memcpy(c->vendor + 4, &d, 4);
    memcpy(c->vendor + 8, &cc, 4);
    if (__get_cpuid(1, &a, &b, &cc, &d)) {
        unsigned fam = (a >> 8) & 0xf, mod = (a >> 4) & 0xf;
        if (fam == 0xf)
            fam += (a >> 20) & 0xff;
        if (fam == 6 || fam >= 0xf)
            mod += ((a >> 16) & 0xf) << 4;
        c->family = fam;
        c->model = mod;
        c->stepping = a & 0xf;
    }
    if (__get_cpuid(0x80000000u, &a, &b, &cc, &d) && a >= 0x80000004u) {
        unsigned r[12];
        for (unsigned i = 0; i < 3; i++)
            __get_cpuid(0x80000002u + i, &r[4 * i], &r[4 * i + 1], &r[4 * i + 2], &r[4 * i + 3]);
        char raw[49];
        memcpy(raw, r, 48);
        raw[48] = 0;
        const char *p = raw;
        while (*p == ' ')
            p++;
        snprintf(c->name, sizeof(c->name), "%s", p);
        size_t n = strlen(c->name);
        while (n && c->name[n - 1] == ' ')
            c->name[--n] = 0;
    }
}

int hostcpu_same(const struct hostcpu *a, const struct hostcpu *b)
{
    return !strcmp(a->vendor, b->vendor) && a->family == b->family && a->model == b->model &&
           a->stepping == b->stepping;
}

void hostcpu_format(const struct hostcpu *c, char *buf, unsigned len)
{
    snprintf(buf, len, "%s family %u model %u stepping %u (%s)", c->vendor, c->family, c->model,
             c->stepping, c->name[0] ? c->name : "no brand string");
}

int hostcpu_parse(struct hostcpu *c, const char *s)
{
    memset(c, 0, sizeof(*c));
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || slash - s > 12)
        return -1;
    memcpy(c->vendor, s, (size_t)(slash - s));
    if (sscanf(slash + 1, "%u/%u/%u", &c->family, &c->model, &c->stepping) != 3)
        return -1;
    snprintf(c->name, sizeof(c->name), "pretended");
    return 0;
}
