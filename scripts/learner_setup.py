"""Configure JupyterLab for learners (placeholder; filled by the browser/learner-setup work)."""

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prefix", required=True)
    parser.parse_args(argv)


if __name__ == "__main__":
    main()
