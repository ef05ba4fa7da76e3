"""The ``marketpass`` command: serve, crawl, index, load the bundled snapshot.

The one module of ``webapp`` that imports ``crawlers``: it ties serving, crawling and indexing
together.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from search import settings as mp_settings
from search.backend import BackendError, open_backend
from search.freshness import stale
from search.indexing import drift, rebuild, reconcile
from search.store import RecordStore


@click.group()
def main() -> None:
    """MarketPass: conformity assessment, TBT notifications and mutual recognition, searchable."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", envvar="PORT", default=8000, show_default=True, type=int)
@click.option("--workers", envvar="WEB_CONCURRENCY", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the site under gunicorn."""
    from webapp.server import run

    click.echo(f"MarketPass on http://{host}:{port}")
    run(host, port, workers)


@main.command()
@click.argument("spiders", nargs=-1)
@click.option("--all", "every", is_flag=True, help="Every spider.")
@click.option("--replay", is_flag=True, help="Read the recorded responses, not the live source.")
@click.option("--full", is_flag=True, help="Re-crawl everything, not only what is new.")
@click.option("--from-file", type=click.Path(exists=True, dir_okay=False),
              help="Load one saved response of the source (e.g. an ePing list export).")
@click.option("-a", "--arg", "args", multiple=True, metavar="NAME=VALUE",
              help="A spider argument, e.g. -a urls=URL,URL or -a members=SA,AE.")
def crawl(spiders: tuple[str, ...], every: bool, replay: bool, full: bool,
          from_file: str | None, args: tuple[str, ...]) -> None:
    """Run spiders; their records go to the record store and the index."""
    from crawlers.run import SPIDERS

    names = list(SPIDERS) if every else list(spiders)
    if not names:
        raise click.UsageError("name one or more spiders, or --all")
    if bad := [a for a in args if "=" not in a]:
        raise click.UsageError(f"spider arguments are NAME=VALUE, not {', '.join(bad)}")
    store = RecordStore(mp_settings.load().store_location)
    watermarks = {n: store.watermark(n) for n in names}
    _run_spiders(names, replay=replay, full=full, from_file=from_file, watermarks=watermarks,
                 spider_args=dict(a.split("=", 1) for a in args))


@main.command()
@click.option("--once", is_flag=True, help="Run what is due now, then stop.")
@click.option("--replay", is_flag=True, help="Crawl the recorded responses (offline demos, tests).")
@click.option("--interval", default=300, show_default=True, type=int,
              help="Seconds between two looks at what is due.")
@click.option("--heartbeat", type=click.Path(dir_okay=False), default=None,
              help="A file touched at every look, for a health check (its age says whether "
                   "the schedule still runs).")
def schedule(once: bool, replay: bool, interval: int, heartbeat: str | None) -> None:
    """Crawl each source on its declared schedule, for as long as it runs (compose, systemd)."""
    import time

    from crawlers.schedule import alerts_mark, run_alerts, run_due

    while True:
        if heartbeat:
            Path(heartbeat).touch()
        store = RecordStore(mp_settings.load().store_location)
        mark = alerts_mark(store.path)
        for name, code in run_due(store, replay=replay).items():
            click.echo(f"{name}: {'finished' if code == 0 else f'failed (exit {code})'}")
        for what, code in run_alerts(store.path, mark).items():
            click.echo(f"alerts ({what}): {'sent' if code == 0 else f'failed (exit {code})'}")
        store.close()
        if once:
            return
        time.sleep(interval)


@main.group()
def alerts() -> None:
    """E-mail and webhook alerts on notification searches."""


@alerts.command("send")
@click.option("--digest", is_flag=True,
              help="Send the daily subscriptions their digest (the scheduler runs this daily).")
def alerts_send(digest: bool) -> None:
    """Send each subscription the new and changed notifications its search finds, once."""
    from webapp import create_app
    from webapp.alerts import send_all

    try:
        report = send_all(create_app(), digest=digest)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{report.subscriptions} subscriptions due: {report.messages} messages with "
               f"{report.notifications} notifications sent, {report.failed} failed "
               f"({report.disabled} disabled), {report.waiting_for_mail_server} waiting for "
               f"the mail server, {report.invalid_searches} with a search no longer valid")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the declarations as JSON.")
def sources(as_json: bool) -> None:
    """Every source as it declares itself: publisher, licence, access, kinds, schedule."""
    from crawlers.run import SPIDERS

    declared = [spider.declaration() for spider in SPIDERS.values()]
    if as_json:
        click.echo(json.dumps(declared, indent=2, ensure_ascii=False))
        return
    for d in declared:
        every = f"every {d['schedule_days']:g} days" if d["schedule_days"] else "on demand"
        click.echo(f"{d['name']:<16}{d['access']:<17}{every:<16}{', '.join(d['kinds'])}")
        click.echo(f"{'':<16}{d['summary']}")
        click.echo(f"{'':<16}{d['publisher']} · {d['licence']}"
                   f"{' · ' + d['source_url'] if d['source_url'] else ''}")


@main.command("load-snapshot")
@click.option("--if-empty", is_flag=True, help="Do nothing when the store already has records.")
def load_snapshot(if_empty: bool) -> None:
    """Load the bundled snapshot: every spider in replay mode, then make the index whole."""
    from crawlers.run import SPIDERS

    settings = mp_settings.load()
    store = RecordStore(settings.store_location)
    if if_empty and store.counts():
        _ensure_index(store, settings)
        click.echo("Snapshot already loaded; use `marketpass load-snapshot` to reload it.")
        return
    _run_spiders(list(SPIDERS), replay=True, full=True, from_file=None)
    _ensure_index(store, settings)


def _run_spiders(names: list[str], **kwargs) -> None:
    from crawlers.run import crawl as run_crawl

    click.echo(f"Crawling {', '.join(names)} …")
    try:
        outcomes = run_crawl(names, **kwargs)
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0])) from exc
    store = RecordStore(mp_settings.load().store_location)
    for crawl_info in store.last_crawls():
        if crawl_info["source"] in names:
            click.echo(f"  {crawl_info['source']}: {crawl_info['status']} "
                       f"{json.dumps(crawl_info['stats'])} {crawl_info['error'] or ''}")
    if any(outcome != "finished" for outcome in outcomes.values()):
        sys.exit(1)


def _ensure_index(store: RecordStore, settings: mp_settings.Settings) -> None:
    """Fill the index when it is empty: the first run, or a new mapping version (opening an
    index of an older one leaves an empty current one). A populated index is shared by every
    replica, whose starting store may be behind it, so it is never rebuilt here: only what
    the store committed and the index missed (the outbox) is brought in."""
    backend = open_backend(settings)
    if backend.count() == 0 and store.counts():
        _rebuild(store, backend)
        return
    brought = reconcile(store, backend)
    click.echo(f"The index holds {backend.count()} records ({brought} brought in from the "
               f"store); `marketpass index rebuild` rebuilds it.")


@main.group()
def index() -> None:
    """Search index commands."""


@index.command("rebuild")
def index_rebuild() -> None:
    """Rebuild the search index from the record store; readers keep the old one meanwhile."""
    settings = mp_settings.load()
    _rebuild(RecordStore(settings.store_location), open_backend(settings))


def _repair(store: RecordStore, backend) -> dict:
    """What killed crawls left: interrupted crawls closed, committed records indexed."""
    return {"interrupted": store.clear_interrupted(), "reindexed": reconcile(store, backend)}


def _rebuild(store: RecordStore, backend) -> None:
    total = sum(store.counts().values())
    with click.progressbar(length=total, label="Indexing", file=sys.stderr) as bar:
        done = [0]

        def progress(n: int) -> None:
            bar.update(n - done[0])
            done[0] = n

        written = rebuild(store, backend, progress)
        bar.update(written - done[0])
    click.echo(f"Indexed {written} records into {backend.name}.")


@index.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
@click.option("--check", is_flag=True,
              help="Repair what killed crawls left (interrupted crawls, records the index "
                   "missed) and fail (exit 1) if the index still differs from the store.")
def index_status(as_json: bool, check: bool) -> None:
    """Backend, counts by kind, last crawl per source."""
    settings = mp_settings.load()
    store = RecordStore(settings.store_location)
    try:
        backend = open_backend(settings)
        repaired = _repair(store, backend) if check else {}
        status = backend.status()
        off = drift(store, backend)
    except BackendError as exc:
        raise click.ClickException(str(exc)) from exc
    status = {"leftover_indices": [], **status, "store_counts": store.counts(),
              "crawls": store.last_crawls(), "drift": off, "stale": stale(store), **repaired}
    if check and off:
        click.echo(json.dumps(status, indent=2, ensure_ascii=False) if as_json else
                   f"the index differs from the store: {off}", err=not as_json)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(status, indent=2, ensure_ascii=False))
        return
    click.echo(f"backend: {status['backend']} ({status['location']}), "
               f"mapping v{status['mapping_version']}")
    for key in ("cluster", "cluster_status", "alias", "index"):
        if key in status:
            click.echo(f"  {key}: {status[key]}")
    if status["leftover_indices"]:
        click.echo(f"  leftover indices (removed by the next rebuild): "
                   f"{', '.join(status['leftover_indices'])}")
    for kind, count in sorted(status["counts"].items()):
        stored = status["store_counts"].get(kind, 0)
        click.echo(f"  {kind:<14}{count:>8} indexed {stored:>8} stored")
    if status["stale"]:
        click.echo(f"stale (last success older than twice the schedule): "
                   f"{', '.join(status['stale'])}")
    click.echo("last crawl of each source:")
    for c in status["crawls"]:
        s = c["stats"]
        failed = s.get("invalid", 0) + s.get("skipped", 0) + s.get("faults", 0)
        ended = c["finished_at"] or "…"
        click.echo(f"  {c['source']:<16}{c['status']:<9}{c['started_at']} → {ended}"
                   f"  fetched {s.get('fetched', 0)}, new {s.get('created', 0)}, "
                   f"changed {s.get('updated', 0)}, unchanged {s.get('unchanged', 0)}, "
                   f"failed {failed}{'  (' + c['error'] + ')' if c['error'] else ''}")


@main.group()
def kb() -> None:
    """Knowledge base commands."""


@kb.command("coverage")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def kb_coverage(as_json: bool) -> None:
    """Per market: product groups covered, facts verified and known, what is missing."""
    from search.coverage import report

    found = report(RecordStore(mp_settings.load().store_location))
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    click.echo(f"{'market':<7}{'schemes':>9}  {'verified/known/total':>20}  {'unknown':>8}  "
               "groups covered | missing")
    for m in found["markets"]:
        click.echo(_coverage_row(m))
    o, base = found["overall"], (found["baseline"] or {}).get("unknown_share")
    click.echo(f"overall: {o['schemes']} schemes, facts {o['verified_facts']} verified / "
               f"{o['facts']} known / {o['fields']}; unknown {_share(o['unknown_share'])} now, "
               f"{_share(base) if base is not None else 'not recorded'} in the starting data")


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _coverage_row(m: dict) -> str:
    schemes = f"{m['schemes']}+{m['inherited_schemes']}" if m["inherited_schemes"] else m["schemes"]
    facts = f"{m['verified_facts']}/{m['facts']}/{m['fields']}"
    groups = ", ".join(m["groups"] + [f"{g} (none)" for g in m["none_groups"]]) or "-"
    missing = ", ".join(g + (" (searched, not found)" if g in m["not_found_groups"] else "")
                        for g in m["missing_groups"]) or "-"
    return (f"{m['market']:<7}{schemes:>9}  {facts:>20}  {_share(m['unknown_share']):>8}  "
            f"{groups} | {missing}")


if __name__ == "__main__":
    main()
