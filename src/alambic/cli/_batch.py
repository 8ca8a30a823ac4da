"""``alambic batch MODEL INPUT OUTPUT``: score a file or folder in chunks, with a progress bar."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from alambic.cli._common import console, friendly
from alambic.serving import DEFAULT_CHUNK_ROWS

__all__ = ["batch"]


class _Rows(ProgressColumn):
    """``1,200,000/5,000,000 rows · 183,000 rows/s`` (no total for CSV input)."""

    def render(self, task: Task) -> Text:
        total = f"/{task.total:,.0f}" if task.total is not None else ""
        speed = task.finished_speed or task.speed
        rate = f" · {speed:,.0f} rows/s" if speed else ""
        return Text(f"{task.completed:,.0f}{total} rows{rate}", style="progress.download")


@friendly
def batch(
    model_ref: Annotated[
        str, typer.Argument(help="NAME@ALIAS, NAME/VERSION, NAME (latest) or a model file.")
    ],
    input: Annotated[
        str, typer.Argument(help="A CSV or Parquet file, a folder of them, or an fsspec URL.")
    ],
    output: Annotated[
        str, typer.Argument(help="Output folder (path or fsspec URL) for the Parquet parts.")
    ],
    *,
    id_column: Annotated[
        list[str] | None,
        typer.Option(
            "--id-column",
            "-i",
            help="Input column copied to the output unchanged (from CSV: as text); repeatable.",
        ),
    ] = None,
    chunk_rows: Annotated[
        int, typer.Option("--chunk-rows", min=1, help="Rows per chunk (one Parquet part each).")
    ] = DEFAULT_CHUNK_ROWS,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", "-j", min=1, help="Worker processes (default: one per core)."),
    ] = None,
    no_resume: Annotated[
        bool, typer.Option("--no-resume", help="Start over: delete an earlier run's parts.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Score every row of INPUT with a model into OUTPUT/part-*.parquet, on all cores.

    Run it again after a crash or a kill: finished chunks are kept, the rest is scored.
    """
    from alambic.serving import batch_transform

    progress = Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        _Rows(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
    )
    task = progress.add_task("scoring", total=None)

    def advance(done: int, total: int | None) -> None:
        if not progress.live.is_started:  # drawn once scoring starts, not for a refusal
            progress.start()
        progress.update(task, completed=done, total=total)

    try:
        result = batch_transform(
            model_ref,
            input,
            output,
            id_columns=id_column or (),
            chunk_rows=chunk_rows,
            n_jobs=jobs,
            resume=not no_resume,
            on_progress=advance,
        )
    finally:
        if progress.live.is_started:
            progress.stop()
    if result["already_complete"]:
        console.print(
            f"{result['output']} is already complete: {result['rows']:,} rows in "
            f"{result['chunks']} chunks scored by {result['model']}; nothing to do"
        )
        return
    console.print(
        Text(f"scored {result['rows']:,} rows with {result['model']} → {result['output']}")
    )
    console.print(
        f"chunks: {result['chunks']} ({result['chunks_scored']} scored, "
        f"{result['chunks_skipped']} already done) · {result['rows_scored']:,} rows in "
        f"{result['seconds']:.1f} s, start-up included: {result['rows_per_second']:,.0f} rows/s",
        highlight=False,
    )
