/* aml.h - a small encoder for ACPI Machine Language (ACPI 6.x spec,
 * chapter 20, "ACPI Machine Language Specification"), enough for vsmp's
 * DSDT: names, integers, strings, packages, buffers holding resource
 * templates, Scope and Device.
 *
 * Everything writes into one caller-owned byte buffer. Objects with a
 * PkgLength (Scope, Device, Package, Buffer) are opened with *_begin(),
 * which returns a mark, filled, and closed with aml_end(mark): the length
 * header is inserted in front of the contents then, in its shortest form.
 * A write past the buffer's end sets `overflow` and writes nothing more,
 * so a caller checks once at the end. */
#ifndef VSMP_AML_H
#define VSMP_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Opcodes and prefixes (ACPI 6.4, 20.3). */
enum {
    AML_ZERO = 0x00, AML_ONE = 0x01, AML_NAME = 0x08, AML_BYTE = 0x0a,
    AML_WORD = 0x0b, AML_DWORD = 0x0c, AML_STRING = 0x0d, AML_QWORD = 0x0e,
    AML_SCOPE = 0x10, AML_BUFFER = 0x11, AML_PACKAGE = 0x12,
    AML_EXT = 0x5b, AML_EXT_DEVICE = 0x82, AML_ROOT = 0x5c,
    AML_DUAL_NAME = 0x2e, AML_MULTI_NAME = 0x2f, AML_ONES = 0xff,
};

/* Resource descriptors (ACPI 6.4, 6.4.3). */
enum {
    AML_RES_MEM32_FIXED = 0x86,  /* large item: Memory32Fixed */
    AML_RES_EXT_IRQ = 0x89,      /* large item: Extended Interrupt */
    AML_RES_END = 0x79,          /* small item: End Tag (length 1) */
};
/* Extended Interrupt flags (byte 3). */
#define AML_IRQ_CONSUMER   0x01u
#define AML_IRQ_EDGE       0x02u
#define AML_IRQ_ACTIVE_LOW 0x04u
#define AML_IRQ_SHARED     0x08u

#define AML_MAX_DEPTH 8          /* nested open objects */

struct aml {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
    /* per open object: where its contents start, and the bytes that go
     * after its PkgLength and before the contents (a Buffer's size) */
    int depth;
    struct { size_t start; bool buffer; } open[AML_MAX_DEPTH];
};

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
void aml_byte(struct aml *a, uint8_t v);
void aml_bytes(struct aml *a, const void *p, size_t n);
/* A NameString: "\\_S5", "_HID", "_SB.VR00", "\\_SB.VR00._CRS". Each
 * segment is 1-4 characters of A-Z, 0-9, _ (the first not a digit),
 * padded with '_'. A malformed path sets `overflow` (the caller's
 * one check). */
void aml_namestring(struct aml *a, const char *path);
/* Integers in their shortest form: Zero, One, Ones, Byte/Word/DWord/
 * QWordConst. */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* Name(path, ...): the object follows (an integer, string, package). */
void aml_name(struct aml *a, const char *path);
/* Bytes a PkgLength takes for `body` bytes that follow it, and the
 * encoding itself into out[4]; 0 when body is too long (2^28). */
int aml_pkglength(size_t body, uint8_t out[4]);

/* Open objects; every one is closed with aml_end(). */
void aml_scope_begin(struct aml *a, const char *path);
void aml_device_begin(struct aml *a, const char *name);
void aml_package_begin(struct aml *a, uint8_t nelems);
void aml_buffer_begin(struct aml *a);
void aml_end(struct aml *a);

/* Resource template items, inside a buffer. */
void aml_res_memory32_fixed(struct aml *a, bool writable, uint32_t base, uint32_t len);
void aml_res_interrupt(struct aml *a, uint8_t flags, uint32_t gsi);
void aml_res_end(struct aml *a);

#endif
