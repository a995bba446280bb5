"""Print the largest relative error of every reference gradient against autograd (and finite differences).

Runs the reference tests in-process (they compare every analytic gradient of ``backproplab`` with an
independent ``autograd`` version and with centred differences, and record each relative error in
``tests._autodiff``), then prints one line per reference and the overall maximum.

    .venv/bin/python -m scripts.autodiff_report          # or: .venv/bin/python scripts/autodiff_report.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_FILES = [
    "test_activations.py", "test_losses.py", "test_layers.py", "test_network.py", "test_regularization.py",
    "test_gradcheck.py",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the issue note)")
    args = parser.parse_args(argv)

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import pytest

    from tests import _autodiff  # the module the tests record into (imported first, so it is shared)

    files = [str(ROOT / "tests" / name) for name in TEST_FILES]
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", *files])
    if code != 0:
        print(f"reference tests failed (pytest exit code {int(code)})", file=sys.stderr)
        return int(code)

    ag, fd = _autodiff.MAX_ERRORS, _autodiff.MAX_FD_ERRORS
    names = sorted(set(ag) | set(fd))
    width = max(len(n) for n in names)
    print()
    if args.markdown:
        print("| reference | max rel. error vs autograd | max rel. error vs finite differences |")
        print("|---|---|---|")
    else:
        print(f"{'reference':<{width}}  {'vs autograd':>12}  {'vs finite diff.':>15}")
    for name in names:
        a = f"{ag[name]:.2e}" if name in ag else "-"
        f = f"{fd[name]:.2e}" if name in fd else "-"
        if args.markdown:
            print(f"| `{name}` | {a} | {f} |")
        else:
            print(f"{name:<{width}}  {a:>12}  {f:>15}")
    worst = max(ag, key=ag.get)
    print()
    print(f"max relative error vs autograd: {ag[worst]:.3e} ({worst}); tolerance {_autodiff.AUTOGRAD_TOL:.0e}, "
          f"{len(ag)} references")
    print(f"max relative error vs finite differences: {max(fd.values()):.3e}; tolerance {_autodiff.FD_TOL:.0e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
