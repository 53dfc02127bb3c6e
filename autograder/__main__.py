"""``python -m autograder COMMAND``: see ``python -m autograder --help``."""
import os
import sys


def _through_real_prefix() -> None:
    """Re-run this same command with the venv named by its real path, if it was reached through a link.

    A project's ``.venv`` is a link to the venv setup.sh built. Every module imported through the
    link remembers the link's path (matplotlib finds its fonts from it), and from a checkout the
    sandbox user cannot enter, workers could not open those files.
    """
    real = os.path.realpath(sys.prefix)
    if real == sys.prefix or os.environ.get("AUTOGRADER_REAL_PREFIX") == real:
        return
    interpreter = os.path.join(real, "bin", os.path.basename(sys.executable))
    if os.access(interpreter, os.X_OK):
        os.environ["AUTOGRADER_REAL_PREFIX"] = real
        os.execv(interpreter, [interpreter, *sys.orig_argv[1:]])


_through_real_prefix()

from autograder.cli import main  # noqa: E402

sys.exit(main())
