"""`mmrest-study`: the command line. Each command group lives in `mmrest.commands.<name>` and
exposes `register(subparsers)`; a command's handler returns an exit code.

Bad input raises `InputError` anywhere below; it is reported here as one message and exit code 2.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from mmrest.errors import InputError

COMMAND_MODULES = ("data", "train", "report", "study", "analyze")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mmrest-study",
        description="Reproduce, tune and understand MMRest (multimodal sentiment analysis).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"mmrest.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except InputError as err:
        print(f"mmrest-study: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
