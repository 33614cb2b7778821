# bench/bench.mk - placeholder, owned by its area
