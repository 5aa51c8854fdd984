"""Build helpers shared by the Makefile, the benchmarks and the tests (tests import
from here; nothing here imports from tests)."""
