"""`lendflow pipeline` runs the Kafka stages; `lendflow dlq list|show|replay` is for ops.

lendflow pipeline                                   every stage in one process
lendflow pipeline --stage validation --stage trusted only these (dedupe runs inside validation)
lendflow dlq list [--limit 50] [--after 2:41]       the dead letters, a page at a time, in partition order
lendflow dlq show 2:41                              one letter: headers and original bytes
lendflow dlq replay 2:41 [3:7 ...] | --all          back to incoming with the attempt raised
"""

from __future__ import annotations

import asyncio
import json
import signal
from typing import TYPE_CHECKING, Annotated

import typer

from lendflow.logging import configure_logging, mask_cpfs
from lendflow.settings import Settings, get_settings

if TYPE_CHECKING:
    from pipeline.dlq import Letter

dlq_app = typer.Typer(help="Inspect and replay the pipeline's dead letters.", no_args_is_help=True)


def _settings() -> Settings:
    settings = get_settings()
    configure_logging(settings)
    return settings


def pipeline(
    stage: Annotated[
        list[str] | None,
        typer.Option(
            "--stage",
            "-s",
            help="Run only this stage (validation, trusted, bridge, outbox, housekeeping); repeatable. Default: all.",
            show_default=False,
        ),
    ] = None,
    skip_migrations: Annotated[bool, typer.Option(help="Do not migrate before starting.")] = False,
) -> None:
    """Run the event pipeline: incoming → dedupe + validation → validated | DLQ → trusted → bridge; outbox relay; housekeeping."""
    from pipeline.runner import run_pipeline, stage_names
    from storage.migrate import upgrade_to_head

    settings = _settings()
    try:
        names = stage_names(stage)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--stage") from exc
    if not skip_migrations:
        upgrade_to_head()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run_pipeline(settings, names, stop=stop)

    asyncio.run(main())


def _show_text(value: bytes | None) -> str:
    if value is None:
        return "(null)"
    try:
        text = json.dumps(json.loads(value), indent=2, ensure_ascii=False)
    except (UnicodeDecodeError, ValueError):
        text = value.decode("utf-8", "replace")
    return mask_cpfs(text)


def _matches(letter: Letter, stage: str | None, event_type: str | None) -> bool:
    """Whether a letter passes `dlq list`'s and `dlq replay --all`'s --stage and --event-type."""
    return (stage is None or letter.stage == stage) and (event_type is None or letter.event_type == event_type)


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, help="At most this many letters.")] = 100,
    after: Annotated[
        str | None, typer.Option(help="Go on from PARTITION:OFFSET, as the previous listing's last line says.")
    ] = None,
    stage: Annotated[str | None, typer.Option(help="Only letters from this stage.")] = None,
    event_type: Annotated[str | None, typer.Option(help="Only letters of this event type.")] = None,
) -> None:
    """List the dead letters: id (PARTITION:OFFSET), stage, error class, attempt, event.

    It reads page by page (what the ops API's listing reads), so a long DLQ costs what the listing
    shows, and ends with the command that lists the next letters when more follow.
    """
    from pipeline.dlq import LetterPosition, parse_letter_id, read_letter_page

    settings = _settings()
    try:
        position = LetterPosition(*parse_letter_id(after)) if after is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--after") from exc
    letters: list[Letter] = []
    while True:
        page = read_letter_page(settings, start=position, limit=limit - len(letters))
        letters += [letter for letter in page.letters if _matches(letter, stage, event_type)]
        position = page.resume_at
        if position is None or len(letters) >= limit or page.partial:
            break
    filters = "".join(
        f" --{name} {value}" for name, value in (("stage", stage), ("event-type", event_type)) if value is not None
    )
    if letters:
        typer.echo(f"{'LETTER':<10} {'STAGE':<11} {'ERROR':<34} {'ATT':>3}  {'EVENT TYPE':<30} EVENT ID")
        for letter in letters:
            typer.echo(
                f"{letter.letter_id:<10} {letter.stage or '-':<11} {letter.error_class or '-':<34} {letter.attempt:>3}  "
                f"{letter.event_type or '-':<30} {letter.event_id or '-'}"
            )
        typer.echo(f"{len(letters)} letter(s)")
    else:
        typer.echo(
            f"no{' matching' if filters else ''} dead letters in {settings.kafka.topics.dlq}{' so far' if position else ''}"
        )
    if position is not None:
        typer.echo(f"more: lendflow dlq list --after {position.partition}:{position.offset}{filters}")


def _letter_or_exit(settings: Settings, letter_id: str) -> Letter:
    """The dead letter PARTITION:OFFSET names; a bad id or a missing letter ends the command."""
    from pipeline.dlq import parse_letter_id, read_letter

    try:
        partition, offset = parse_letter_id(letter_id)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    found = read_letter(settings, partition, offset)
    if found is None:
        typer.secho(f"no dead letter {letter_id} in {settings.kafka.topics.dlq}", fg="red", err=True)
        raise typer.Exit(1)
    return found


@dlq_app.command("show")
def dlq_show(letter: Annotated[str, typer.Argument(help="PARTITION:OFFSET, as `dlq list` prints it.")]) -> None:
    """Show one dead letter: every header and the original message."""
    settings = _settings()
    found = _letter_or_exit(settings, letter)
    typer.echo(f"letter      {found.letter_id} in {found.topic}")
    for key, value in found.headers:
        typer.echo(f"{key:<32} {mask_cpfs(value.decode('utf-8', 'replace'))}")
    typer.echo(f"key         {found.key.decode('utf-8', 'replace') if found.key else '(none)'}")
    typer.echo("message:")
    typer.echo(_show_text(found.value))


@dlq_app.command("replay")
def dlq_replay(
    letters: Annotated[list[str] | None, typer.Argument(help="PARTITION:OFFSET of each letter.")] = None,
    all_letters: Annotated[bool, typer.Option("--all", help="Every letter (up to the replay limit).")] = False,
    stage: Annotated[str | None, typer.Option(help="With --all: only letters from this stage.")] = None,
    event_type: Annotated[str | None, typer.Option(help="With --all: only this event type.")] = None,
    force: Annotated[
        bool, typer.Option(help="Replay letters already replayed (the pipeline still applies an event once).")
    ] = False,
) -> None:
    """Re-produce dead letters to the incoming topic with the attempt count raised."""
    from pipeline.dlq import DeadLetterReplayer, read_letters
    from storage.db import create_engine, create_session_maker

    settings = _settings()
    if all_letters == bool(letters):
        raise typer.BadParameter("name letters or pass --all (not both)")
    if all_letters:
        chosen = [letter for letter in read_letters(settings) if _matches(letter, stage, event_type)]
    else:
        chosen = [_letter_or_exit(settings, text) for text in letters or []]

    async def main() -> list:
        engine = create_engine(settings.postgres)
        try:
            return await DeadLetterReplayer(settings, create_session_maker(engine)).replay(chosen, force=force)
        finally:
            await engine.dispose()

    outcomes = asyncio.run(main())
    for outcome in outcomes:
        typer.echo(f"{outcome.letter.letter_id:<10} {outcome.status:<20} attempt {outcome.attempt}  "
                   f"{outcome.letter.event_type or '-'} {outcome.letter.event_id or '-'}")  # fmt: skip
    replayed = sum(1 for o in outcomes if o.status == "replayed")
    typer.echo(f"{replayed} replayed to {settings.kafka.topics.incoming}, {len(outcomes) - replayed} skipped")
