# tests/integration/mpi_transport.mk - `make check-mpi-transport`: the DSM
# transport over MPI (src/mpi/dsm_mpi.c, clocksync.c) tested by
# tests/integration/mpi_transport_test.c with 2 and 4 ranks over shared
# memory (btl self,vader; osc sm) with send_data's puts forced, the same
# with data messages forced, over osc/pt2pt on vader (the ranks of one
# node in a multi-node job) with the path the open-time probe chose per
# peer (auto: the counts must match that choice, whatever the host's
# timings were), and over TCP (btl self,tcp; osc pt2pt) with data
# messages forced and the clock offsets measured (VSMP_CLOCKSYNC=measure;
# elsewhere the ranks of one host share rank 0's clock, offset 0, which
# the test checks). No outcome depends on how fast the host is: the probe's
# rule is tested with injected times (tests/unit/test_probe_rule.c).
# Included by the top Makefile; check-integration can depend on it.

MPI_TT := $(BUILD)/tests/integration/mpi_transport_test
MPI_TT_OBJ := $(BUILD)/src/mpi/dsm_mpi.o $(BUILD)/src/mpi/clocksync.o \
              $(BUILD)/src/mpi/runtime.o $(BUILD)/src/mem/dsm_stats.o \
              $(BUILD)/src/mem/hostmem.o $(BUILD)/src/io/terminal.o
MPI_TT_TIMEOUT ?= 120

.PHONY: check-mpi-transport
$(MPI_TT): tests/integration/mpi_transport_test.c $(MPI_TT_OBJ) src/mpi/dsm_mpi.h \
           src/mpi/clocksync.h src/mpi/runtime.h src/mem/dsm_transport.h config.mk
	@mkdir -p $(@D)
	$(MPICC) $(ALL_CFLAGS) -o $@ tests/integration/mpi_transport_test.c $(MPI_TT_OBJ)

check-mpi-transport: $(MPI_TT)
	@if [ "$$(id -u)" = 0 ]; then \
	    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; \
	fi; \
	export OMPI_MCA_btl_vader_single_copy_mechanism=none; \
	fail=0; \
	for np in 2 4; do \
	  for tr in sm sm-msg sm-pt2pt tcp; do \
	    case $$tr in \
	      sm) mca="--mca btl self,vader"; path=put;; \
	      sm-msg) mca="--mca btl self,vader"; path=msg;; \
	      sm-pt2pt) mca="--mca btl self,vader --mca osc pt2pt"; path=auto;; \
	      *) mca="--mca btl self,tcp --mca osc pt2pt"; path=msg;; \
	    esac; \
	    measure=; [ $$tr = tcp ] && measure="-x VSMP_CLOCKSYNC=measure"; \
	    if timeout $(MPI_TT_TIMEOUT) mpirun --oversubscribe -np $$np $$mca $$measure $(MPI_TT) $$path \
	         > $(MPI_TT).$$tr.$$np.log 2>&1; then \
	      echo "PASS mpi_transport_test $$tr $$np ranks"; \
	    else \
	      echo "FAIL mpi_transport_test $$tr $$np ranks (log: $(MPI_TT).$$tr.$$np.log)"; \
	      tail -20 $(MPI_TT).$$tr.$$np.log; fail=1; \
	    fi; \
	  done; \
	done; \
	exit $$fail
