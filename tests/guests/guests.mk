# tests/guests/guests.mk - placeholder, owned by its area
