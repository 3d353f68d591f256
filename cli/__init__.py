"""The `qa` command: the composition root. It assembles the commands each stage owns and loads a
stage only when its command runs (`qa ask` imports neither gradio nor eval).

Exit codes: 0 the command did what it was asked (an update that skipped files it could not
read succeeded, and lists them); 1 it was refused or failed, with a message saying why (on
--json, a JSON object with `error`); 2 the command line itself is wrong; 130 interrupted.
`qa index verify` exits 1 when it finds a problem, `qa eval --floor` when a figure is below it.
"""

from __future__ import annotations

import importlib
import json
import signal
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from index.commands import Wiring

# Each command and the stage module that owns it.
COMMANDS = {
    "index": "index.commands:index_group",
    "ask": "qa.commands:ask",
    "chat": "qa.commands:chat",
    "serve": "ui.commands:serve",
    "eval": "eval.commands:evaluate",
    "bench": "eval.commands:bench",
    "reader": "qa.commands:reader",
}
FAILED, INTERRUPTED = 1, 130


class Stages(click.Group):
    """The commands of COMMANDS, each imported when it is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attribute)


@click.group(cls=Stages, context_settings={"help_option_names": ["-h", "--help"]})
def qa():
    """《工行通讯》问答：索引、提问、聊天、评测"""


def main(argv: list[str] | None = None, wiring: Wiring | None = None) -> int:
    """The `qa` command. `qa ask` goes to a running `qa serve` first, before anything is loaded
    (ui/api.py); where none answers, it answers by itself."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `qa ask … | head` ends quietly
    # The install leaves no bytecode (Makefile: --no-compile); where PYTHONDONTWRITEBYTECODE is set,
    # as on the machines this was measured on, every start compiled all it imported again: a cold
    # `qa ask` of a fresh clone took 6–8 s, 3.3 once its bytecode was written. So it is written.
    sys.dont_write_bytecode = False
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["ask"] and wiring is None:
        from ui.api import ask_resident

        if (code := ask_resident(argv[1:])) is not None:
            return code
    return run(argv, wiring)


def run(argv: list[str], wiring: Wiring | None = None) -> int:
    """One command line, run in this process (a server runs its clients' `qa ask` with it)."""
    from index.commands import Wiring

    wiring = replace(wiring or Wiring(), status_extras=_reader_status, run=run)
    try:
        return qa.main(argv, prog_name="qa", standalone_mode=False, obj=wiring) or 0
    except click.ClickException as e:  # the command line itself: usage, a bad choice
        e.show()
        return e.exit_code
    except (KeyboardInterrupt, click.Abort):
        return INTERRUPTED
    except Exception as e:
        if not isinstance(e, _user_errors()):
            raise
        if "--json" in argv:  # a script reading stdout gets an object either way
            print(json.dumps({"error": str(e)}, ensure_ascii=False))
        print(f"错误：{e}", file=sys.stderr)
        return FAILED


def _user_errors() -> tuple[type[Exception], ...]:
    """The exceptions the loaded stages raise for something the user can fix (their ERRORS)."""
    modules = {path.split(":")[0] for path in COMMANDS.values()}
    return tuple(e for name in modules if name in sys.modules for e in getattr(sys.modules[name], "ERRORS", ()))


def _reader_status(settings):
    from qa.commands import reader_status  # the reader is qa's; `qa index status` names it

    return reader_status(settings)
