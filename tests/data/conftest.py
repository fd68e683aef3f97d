# The tiny files in both real formats are shared with the command tests (tests/fixtures/msa_files.py).
from msa_files import make_mmim, make_mmsa, snapshot, strip_truth, write_pickle  # noqa: F401
