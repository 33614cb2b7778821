# tests/slurm/slurm.mk - the batch scripts of jobs/ on a real Slurm (issue
# 17 items 2 and 3).
#   make check-slurm   starts a private one-node Slurm from Debian's
#                      packages (tests/slurm/cluster.sh; root, munge,
#                      slurmctld, slurmd, slurm-client), submits jobs/
#                      scripts with the test guests and the Linux guest at
#                      1, 2, 4 ranks with srun and mpirun, checks their
#                      output and states, stops the daemons
#                      (tests/slurm/run.sh).
# Included by the top Makefile; paths are relative to the source root.
.PHONY: check-slurm
check-slurm: vsmp guests images
	@bash tests/slurm/run.sh
