"""The chat's command: `qa serve`. Gradio loads only when it runs."""

import sys

import click

from index import Settings, discover, ensure_index
from index.commands import Wiring, index_options
from qa import Assistant


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=7860, show_default=True)
@index_options
def serve(wiring: Wiring, settings: Settings, host: str, port: int) -> int:
    """the chat in the browser (updates the index first if it is stale)"""
    from ui.app import serve as serve_chat

    embedder = wiring.make_embedder(settings)
    report = ensure_index(settings, embedder)
    for error in report.errors if report else discover(settings.docs_dir).refused:
        print(f"跳过 {error}", file=sys.stderr)
    assistant = Assistant(settings, embedder)
    if settings.answering.composer == "reader":  # now, not on the first question: a missing file is said at start
        assistant.composer("reader").reader.load()
    serve_chat(assistant, host=host, port=port)
    return 0
