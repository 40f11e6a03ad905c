"""How a test ends other than with PASS: raised anywhere below a test, turned
into its FAIL or SKIP line by run.py."""


class Failure(Exception):
    """A test failed: reason, and the log that tells more."""

    def __init__(self, reason, log=None):
        super().__init__(reason)
        self.reason = reason
        self.log = log


class Skip(Exception):
    """A test cannot run here: the reason."""
