# tests/integration/image_io.mk - `make check-image-io`: the memory image
# file (src/mpi/image_io.c, docs/image-format.md) tested by
# tests/integration/image_io_test.c at 1, 2 and 4 ranks over shared memory
# (btl self,vader) and over TCP (btl self,tcp): round trips (pages moved
# with O_DIRECT and through MPI-IO), failed writes that keep the old
# image, and every refused read. `make bench-image-io` times a 512 MiB
# image at 1, 2 and 4 ranks (IMAGE_IO_BENCH_MIB, IMAGE_IO_BENCH_DIR).
# Included by the top Makefile.

IMAGE_IO_T := $(BUILD)/tests/integration/image_io_test
IMAGE_IO_OBJ := $(BUILD)/src/mpi/image_io.o $(BUILD)/src/snap/snapbuf.o
IMAGE_IO_TIMEOUT ?= 180
IMAGE_IO_BENCH_MIB ?= 512
IMAGE_IO_BENCH_DIR ?= $(BUILD)/image-io-bench

.PHONY: check-image-io bench-image-io
$(IMAGE_IO_T): tests/integration/image_io_test.c $(IMAGE_IO_OBJ) src/mpi/image_io.h \
               src/snap/snapbuf.h config.mk
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) -o $@ tests/integration/image_io_test.c $(IMAGE_IO_OBJ)

check-image-io: $(IMAGE_IO_T)
	@if [ "$$(id -u)" = 0 ]; then \
	    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; \
	fi; \
	export OMPI_MCA_btl_vader_single_copy_mechanism=none; \
	fail=0; \
	for np in 1 2 4; do \
	  for tr in sm tcp; do \
	    case $$tr in \
	      sm) mca="--mca btl self,vader";; \
	      *) mca="--mca btl self,tcp";; \
	    esac; \
	    dir=$(IMAGE_IO_T).$$tr.$$np.d; rm -rf $$dir; mkdir -p $$dir; \
	    if timeout $(IMAGE_IO_TIMEOUT) mpirun --oversubscribe -np $$np $$mca $(IMAGE_IO_T) $$dir \
	         > $(IMAGE_IO_T).$$tr.$$np.log 2>&1; then \
	      echo "PASS image_io_test $$tr $$np ranks"; rm -rf $$dir; \
	    else \
	      echo "FAIL image_io_test $$tr $$np ranks (log: $(IMAGE_IO_T).$$tr.$$np.log)"; \
	      tail -20 $(IMAGE_IO_T).$$tr.$$np.log; fail=1; \
	    fi; \
	  done; \
	done; \
	exit $$fail

bench-image-io: $(IMAGE_IO_T)
	@if [ "$$(id -u)" = 0 ]; then \
	    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; \
	fi; \
	export OMPI_MCA_btl_vader_single_copy_mechanism=none; \
	mkdir -p $(IMAGE_IO_BENCH_DIR); \
	for np in 1 2 4; do \
	  timeout 600 mpirun --oversubscribe -np $$np --mca btl self,vader $(IMAGE_IO_T) \
	      --bench $(IMAGE_IO_BENCH_MIB) $(IMAGE_IO_BENCH_DIR) || exit 1; \
	done
