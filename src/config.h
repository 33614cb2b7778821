/* config.h - the machine configuration file: one setting a line, keyword
 * first, `#` starts a comment, blank lines ignored.
 *
 *   memory SIZE        guest RAM: bytes or K/M/G suffix, 1M..3G, multiple
 *                      of 4K (default 128M)
 *   kernel PATH        Linux bzImage (32-bit boot  } exactly one of
 *                      protocol) or Multiboot ELF  } kernel and rom
 *   rom PATH           raw firmware image          }
 *   initrd PATH        Linux initrd / Multiboot module 0 (needs kernel)
 *   cmdline TEXT...    kernel command line: the rest of the line
 *   console stdio|none COM1 on stdin/stdout (default) or nowhere
 *   cpus N             expected number of CPUs (= MPI ranks); optional
 *   jit-cache SIZE     translated-code cache per CPU (default 32M, 1M..1G)
 *   disk PATH [ro]     a virtio-mmio block device on the raw image PATH
 *                      (up to CONFIG_MAX_DISKS lines; line i in file order
 *                      is the guest's vda, vdb, ...); `ro`: read-only.
 *                      The image must not be empty (docs/devices.md).
 *   image PATH         start from this memory image (docs/checkpoint.md)
 *                      instead of booting: kernel, initrd, cmdline and rom
 *                      are then not loaded (and not needed); vsmp
 *                      --restore PATH overrides it
 *
 * Relative paths are relative to the folder holding the config file, and
 * each file must exist, be readable and be a regular file when the config
 * is parsed. A line has at most CONFIG_LINE_MAX bytes, the file at most
 * CONFIG_FILE_MAX, and a NUL byte is an error (so that `vsmp /dev/zero`
 * or a binary file named by mistake is refused at once). Every error is
 * reported as "FILE:LINE: message" (or "FILE: message" for the file as a
 * whole: cannot open, read error with its cause, too long). */
#ifndef VSMP_CONFIG_H
#define VSMP_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MEM_MIN     (1ull << 20)
#define CONFIG_MEM_MAX     (3ull << 30)
#define CONFIG_MEM_DEFAULT (128u << 20)
#define CONFIG_JIT_CACHE_MIN (1ull << 20)
#define CONFIG_JIT_CACHE_MAX (1ull << 30)
#define CONFIG_LINE_MAX    8192u          /* bytes a line, without its newline */
#define CONFIG_FILE_MAX    (1u << 20)     /* bytes in the whole file */
#define CONFIG_MAX_DISKS   4

struct config_disk {
    char *path;                 /* made relative to the config's folder */
    int ro;                     /* `disk PATH ro` */
    int line;                   /* its line (for error messages) */
};

enum console_kind { CONSOLE_STDIO, CONSOLE_NONE };

struct config {
    char *file;                 /* the config file as named */
    uint32_t memory;            /* bytes */
    char *kernel, *initrd, *rom, *cmdline;  /* NULL when not given */
    char *image;                /* `image PATH`, NULL when not given */
    int image_line;
    enum console_kind console;
    int cpus;                   /* 0: not given */
    int cpus_line;              /* line of `cpus` (for its error message) */
    uint64_t jit_cache;         /* code cache bytes, 0: default */
    struct config_disk disk[CONFIG_MAX_DISKS];
    int ndisks;
    int lines;                  /* number of lines read */
};

/* 0, or -1 with "FILE:LINE: message" (or "FILE: message") in err.
 * On error cfg holds nothing to free. */
int config_parse(const char *path, struct config *cfg, char *err, size_t errlen);
/* The same for a run that restores a memory image (--restore): a config
 * with nothing to boot (no kernel or rom) is then fine. */
int config_parse_restoring(const char *path, struct config *cfg, bool restoring, char *err,
                           size_t errlen);
void config_free(struct config *cfg);

/* "64M", "1G", "4096", "512k" -> bytes. 0, or -1 if malformed/overflow. */
int config_parse_size(const char *s, uint64_t *bytes);

/* A whole unsigned number: decimal digits only, or with hex_ok also
 * "0x" and hex digits. No sign, space, suffix or empty string; -1 when
 * it does not fit in 64 bits. 0 with the value in *v, else -1. */
int config_parse_number(const char *s, int hex_ok, uint64_t *v);

/* "FILE:LINE: cpus N does not match ..." when cpus is given and differs
 * from the number of ranks; 0 when fine. */
int config_check_cpus(const struct config *cfg, int ranks, char *err, size_t errlen);

#endif
