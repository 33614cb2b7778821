/* test_acpi_acpica.c - vsmp's ACPI tables loaded by ACPICA, the reference
 * implementation that Linux's ACPI code is built from: acpiexec (Debian
 * package acpica-tools, installed by .ci/run and listed in the README)
 * installs the FADT, FACS, MADT and DSDT that boot/acpi.c builds,
 * checksums them, loads the DSDT's AML into its namespace, evaluates
 * \_S5, a virtio-mmio node's _HID and _CRS, and runs its S5 sleep
 * sequence - the classic (not hardware-reduced) one, through the PM1
 * control register. A table ACPICA rejects or warns about, AML it cannot
 * parse, or a wrong value fails the test. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/acpi.h"
#include "io/acpi_pm.h"

static uint32_t rd32(const uint8_t *b)
{
    return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void write_table(const char *dir, const char *name, const uint8_t *t, size_t len)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fwrite(t, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static char out[1 << 16];

/* acpiexec's batch output for the tables in dir. */
static void acpiexec(const char *dir, const char *cmds)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && timeout 120 acpiexec -b '%s' facp.dat dsdt.dat apic.dat facs.dat 2>&1",
             dir, cmds);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    int rc = pclose(p);
    cr_assert_eq(rc, 0, "acpiexec failed (%d):\n%s", rc, out);
}

/* needle appears in out after the text `after` */
static void expect_after(const char *after, const char *needle)
{
    const char *a = strstr(out, after);
    cr_assert_not_null(a, "acpiexec printed no \"%s\":\n%s", after, out);
    cr_assert_not_null(strstr(a, needle), "no \"%s\" after \"%s\":\n%s", needle, after, out);
}

Test(acpica, acpiexec_loads_evaluates_and_sleeps, .timeout = 240)
{
    cr_assert_eq(system("command -v acpiexec > /dev/null 2>&1"), 0,
                 "acpiexec not found: install the Debian package acpica-tools (README)");
    static uint8_t mem[ACPI_MAX_SIZE];
    const struct acpi_virtio_mmio v[2] = {
        { 0xfeb00000u, 0x200, 16, false }, { 0xfeb00200u, 0x200, 17, true },
    };
    struct acpi_config c = {
        .ncpus = 4, .lapic_addr = 0xfee00000u, .ioapic_id = 4, .ioapic_addr = 0xfec00000u,
        .irq0_gsi = 2, .sci_irq = 9, .ram_size = 32u << 20,
        .pm1a_evt = ACPI_PM1A_EVT, .pm1a_cnt = ACPI_PM1A_CNT,
        .reset_port = ACPI_RESET_PORT, .reset_value = ACPI_RESET_VALUE,
        .nvirtio = 2, .virtio = v,
    };
    cr_assert_gt(acpi_build(&c, ACPI_BASE, mem, sizeof mem), 0);
    char dir[] = "/tmp/vsmp-acpica-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    const uint8_t *fadt = mem + ACPI_FADT_OFF;
    const uint8_t *dsdt = mem + (rd32(fadt + 40) - ACPI_BASE);
    write_table(dir, "facp.dat", fadt, rd32(fadt + 4));
    write_table(dir, "dsdt.dat", dsdt, rd32(dsdt + 4));
    write_table(dir, "apic.dat", mem + ACPI_MADT_OFF, rd32(mem + ACPI_MADT_OFF + 4));
    write_table(dir, "facs.dat", mem + ACPI_FACS_OFF, ACPI_FACS_SIZE);

    acpiexec(dir, "evaluate \\_S5; evaluate \\_SB.VR00._HID; evaluate \\_SB.VR01._UID; "
                  "evaluate \\_SB.VR01._CRS; sleep 5");
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    cr_assert_eq(system(rm), 0);

    /* every table installed, none with a warning or an error */
    expect_after("ACPI: FACP", "(v06 VSMP   VSMPACPI");
    expect_after("ACPI: DSDT", "(v02 VSMP   VSMPACPI");
    expect_after("ACPI: APIC", "(v03 VSMP   VSMPACPI");
    cr_assert_null(strstr(out, "Firmware Warning"), "%s", out);
    cr_assert_null(strstr(out, "Firmware Error"), "%s", out);
    cr_assert_null(strstr(out, "ACPI Error"), "%s", out);
    cr_assert_null(strstr(out, "ACPI Warning"), "%s", out);
    expect_after("Table [DSDT", "2 Devices");
    /* \_S5 = Package {5, 5, 0, 0} */
    expect_after("Evaluating \\_S5", "Contains 4 Elements:\n"
                 "    [Integer] = 0000000000000005\n"
                 "    [Integer] = 0000000000000005\n"
                 "    [Integer] = 0000000000000000\n"
                 "    [Integer] = 0000000000000000\n");
    expect_after("Evaluating \\_SB.VR00._HID", "[String] Length 08 = \"LNRO0005\"");
    expect_after("Evaluating \\_SB.VR01._UID", "[Integer] = 0000000000000001");
    /* Memory32Fixed(ReadWrite, 0xFEB00200, 0x200), Interrupt(edge) {17}, end */
    expect_after("Evaluating \\_SB.VR01._CRS",
                 "0000: 86 09 00 01 00 02 B0 FE 00 02 00 00 89 06 00 03");
    expect_after("Evaluating \\_SB.VR01._CRS", "0010: 01 11 00 00 00 79 00 ");
    /* S5 through the classic PM1 control path (ACPICA then waits 10 s for
     * a power-off that cannot happen here, and returns) */
    expect_after("sleep state S5", "Sleep-A: 05, Sleep-B: 05");
    expect_after("Going to sleep (S5)", "HwLegacySleep");
}
