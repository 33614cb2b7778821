# bench/mpi.mk - `make bench-mpi`: the DSM transport micro-benchmark
# (bench/mpi_fault.c) over shared memory and over TCP, 2 ranks; figures
# and how to read them in docs/dsm-mpi.md. Included by the top Makefile
# (next to bench/bench.mk); paths are relative to the source root.

MPI_FAULT := $(BUILD)/bench/mpi_fault
MPI_FAULT_OBJ := $(BUILD)/src/mpi/dsm_mpi.o $(BUILD)/src/mpi/runtime.o $(BUILD)/src/mem/dsm_stats.o \
                 $(BUILD)/src/mem/hostmem.o

.PHONY: bench-mpi
$(MPI_FAULT): bench/mpi_fault.c $(MPI_FAULT_OBJ) src/mpi/dsm_mpi.h src/mpi/runtime.h config.mk
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) -o $@ bench/mpi_fault.c $(MPI_FAULT_OBJ)

# Open MPI 4.1.4 here: the vader fix always, the root flags only as root;
# osc pt2pt must be named on the command line (Debian's
# openmpi-mca-params.conf disables it).
bench-mpi: $(MPI_FAULT)
	@if [ "$$(id -u)" = 0 ]; then \
	    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; \
	fi; \
	export OMPI_MCA_btl_vader_single_copy_mechanism=none; \
	grep -m1 'model name' /proc/cpuinfo; echo "cores: $$(nproc)"; \
	mpirun --oversubscribe -np 2 --mca btl self,vader $(MPI_FAULT) sm && \
	mpirun --oversubscribe -np 2 --mca btl self,tcp --mca osc pt2pt $(MPI_FAULT) tcp
