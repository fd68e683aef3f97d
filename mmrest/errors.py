"""The one exception type that means "the user's input is wrong".

The CLI turns it into a message on stderr and exit code 2; everything else is a bug and keeps
its traceback.
"""


class InputError(ValueError):
    """Bad input: a file, key or value the user can fix. The message says which and how."""
