/* corpus_poke.c - test tool of the differential test: copies a corpus
 * with one case's recorded digest changed (checksum kept valid), to check
 * that difftest tells a corpus that disagrees with the CPU or with vsmp.
 *   corpus_poke IN OUT INDEX */
#include <stdio.h>
#include <stdlib.h>

#include "corpus.h"

int main(int argc, char **argv)
{
    struct corpus c;
    char err[512];
    if (argc != 4) {
        fprintf(stderr, "usage: corpus_poke IN OUT INDEX\n");
        return 2;
    }
    if (corpus_load(&c, argv[1], err, sizeof(err)) < 0) {
        fprintf(stderr, "corpus_poke: %s\n", err);
        return 2;
    }
    unsigned long i = strtoul(argv[3], NULL, 0);
    if (i < c.first || i - c.first >= c.count) {
        fprintf(stderr, "corpus_poke: case %lu not in the corpus\n", i);
        return 2;
    }
    uint8_t *p = c.digest + 3 * (i - c.first);
    corpus_put3(p, corpus_get3(p) ^ 1);
    if (corpus_save(&c, argv[2], err, sizeof(err)) < 0) {
        fprintf(stderr, "corpus_poke: %s\n", err);
        return 2;
    }
    corpus_free(&c);
    return 0;
}
