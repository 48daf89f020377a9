"""`python -m gtchain.entrypoints.report --job <name> --out <dir-or-s3-uri>`: the old name of `gtchain report --job`.

The report command line is now the `report` command of the `gtchain` CLI (gtchain.entrypoints.cli, docs/cli.md);
this module only forwards to it, with the same options and the CLI's exit codes (3: no such job, 75: output not
written yet)."""

import sys

from gtchain.entrypoints.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
