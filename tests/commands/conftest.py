# The tiny files in both real formats (tests/fixtures/msa_files.py), for `mmrest-study data`.
from msa_files import make_mmim, make_mmsa, snapshot, strip_truth, write_pickle  # noqa: F401
