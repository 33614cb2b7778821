# tests/integration/integration.mk - placeholder, owned by its area
