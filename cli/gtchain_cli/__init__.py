"""`gtchain`, the operator's command line (see app.py and docs/cli.md). It needs typer and rich, which the dev
environment installs and the Lambda layer does not carry: no Lambda code imports this package."""

from gtchain_cli.app import app, main

__all__ = ["app", "main"]
