/* hostcpu.h - which CPU this process runs on (CPUID): the identity a
 * recorded corpus names, and the test of "the same CPU model" that decides
 * whether the x87 rule (x87host.h) may apply. */
#ifndef DIFF_HOSTCPU_H
#define DIFF_HOSTCPU_H

struct hostcpu {
    char vendor[13];             /* "AuthenticAMD", "GenuineIntel", ... */
    unsigned family, model, stepping;   /* display values, as /proc/cpuinfo */
    char name[49];               /* brand string, blanks trimmed */
};

void hostcpu_get(struct hostcpu *c);

/* Same vendor, family, model and stepping (the brand string is not
 * compared: virtual machines often shorten it). */
int hostcpu_same(const struct hostcpu *a, const struct hostcpu *b);

/* "AuthenticAMD family 25 model 17 stepping 1 (AMD EPYC)" */
void hostcpu_format(const struct hostcpu *c, char *buf, unsigned len);

/* Parse the --pretend-cpu form "VENDOR/FAMILY/MODEL/STEPPING" (tests:
 * makes this host look like another CPU model). 0 on success. */
int hostcpu_parse(struct hostcpu *c, const char *s);

#endif
