# tests/diff/diff.mk - placeholder, owned by its area
