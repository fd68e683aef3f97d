"""Command groups of the `mmrest-study` CLI, one module each."""
