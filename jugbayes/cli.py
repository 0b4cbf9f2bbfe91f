"""The ``jugbayes`` command line.

Errors in user input are printed as one ``FILE:LINE: problem`` line on stderr
with exit status 2; warnings as ``warning: ...`` lines.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

from jugbayes import __version__
from jugbayes.errors import JugbayesError
from jugbayes.report.inspect import inspect_dict, inspect_text

EXIT_INPUT_ERROR = 2


def _cmd_inspect(args: argparse.Namespace) -> int:
    from jugbayes.io import read_par, read_tim

    par = read_par(args.par)
    toas = read_tim(args.tim) if args.tim else None
    if args.json:
        print(json.dumps(inspect_dict(par, toas), indent=2))
    else:
        print(inspect_text(par, toas))
    return 0


def _cmd_convert(args: argparse.Namespace) -> int:
    from jugbayes.io import read_par, read_tim, write_par, write_tim

    src, out = Path(args.input), Path(args.out)
    if src.suffix.lower() == ".par":
        par = read_par(src)
        write_par(par, out)
        print(f"wrote {out} ({len(par.params)} parameters, {len(par.unused)} unused kept)")
    else:
        toas = read_tim(src)
        write_tim(toas, out)
        print(f"wrote {out} ({len(toas)} TOAs, TEMPO2 format)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jugbayes",
        description="Pulsar timing on JAX: TEMPO2/PINT .par and .tim files in, fits and posteriors out.",
    )
    parser.add_argument("--version", action="version", version=f"jugbayes {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "inspect",
        help="show a timing model's parameters and a TOA set's summary",
        description="Print the pulsar, the model's parameters (value, fit flag, uncertainty), the parameters the "
        "model does not use, and, given a .tim, the TOA count, MJD range, observatories and flags.",
    )
    p.add_argument("par", metavar="PAR", help="timing model (.par)")
    p.add_argument("tim", metavar="TIM", nargs="?", help="TOAs (.tim)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=_cmd_inspect)

    p = sub.add_parser(
        "convert",
        help="rewrite a .par, or a .tim of any format as TEMPO2 FORMAT 1",
        description="Read a .par or .tim and write it back out: a .par normalised (all parameters kept, values "
        "at full precision), a .tim (TEMPO2, Princeton or Parkes, with its INCLUDEs and commands applied) as one "
        "TEMPO2-format file with every flag.  Never overwrites the input.",
    )
    p.add_argument("input", metavar="FILE", help="a .par file, or a .tim/.toa file")
    p.add_argument("--out", "-o", required=True, metavar="OUT", help="output path")
    p.set_defaults(func=_cmd_convert)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ARG001
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jugbayes`` console script."""
    args = build_parser().parse_args(argv)
    warnings.showwarning = _show_warning
    try:
        return args.func(args)
    except JugbayesError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a pager or `head` that closed early
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
