"""``python -m autograder.verify --child JOB``: the grading child of an adversarial case (see
``autograder.verify.adversarial.run_case``); internal."""
import sys

from autograder.verify.adversarial import _child_main

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.exit(_child_main(sys.argv[2]))
    print("usage: python -m autograder verify [--jobs N]  (this module's own entry point is internal)", file=sys.stderr)
    sys.exit(2)
