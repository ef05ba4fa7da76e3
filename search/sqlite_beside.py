"""A large rebuild of the embedded index, written by a second process beside the caller.

Preparing batches (reading documents, analysing their texts) and writing them (the index's
numbering, the SQL, the commit) each take about half of a rebuild's time, and one interpreter
runs one at a time. Here the caller prepares and a child process writes, on two cores.

Each batch is sent either prepared or only gathered (``sqlite_backend.gather``: its texts not
analysed yet), whichever keeps the two processes equally busy: the child reports each batch
written, and is given the analysis of the next while it has little waiting.

The child takes the index's write lock before the first document is read, as a rebuild in
process does (a crawl's write cannot slip between the read of the store and the new file).
If the caller fails half-way, the child's pipe closes without the end mark and the child
removes its new file; if the child fails, its error is raised here. Either way the served
index stays as it was.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

from search.backend import BackendError
from search.columns import collector_paused
from search.fields import Document
from search.sqlite_backend import (
    BATCH,
    Batch,
    Gathered,
    SqliteBackend,
    chunked,
    fill,
    finish,
    gather,
)

# How long the child may take to report after the last batch: the commit and the sync of a
# million documents take ~30 s on a slow disk.
FINISH_TIMEOUT = 600.0
# How long the child may wait for the write lock (its connection's timeout is 60 s).
LOCK_TIMEOUT = 90.0
AHEAD = 3  # batches waiting for the child at most
# A batch goes unanalysed while fewer wait for the child than this: the child then has time to
# spare, and the two processes stay equally busy whichever is faster on the machine.
KEEP_BUSY = 2
_ROOT = Path(__file__).resolve().parents[1]


class ChildUnavailable(OSError):
    """The writer process could not be started (nothing was read or written)."""


class _Child:
    """The writer process (a fresh interpreter: no module of the caller is imported again).
    Batches go to it as files in a directory of its own, named in a pipe: writing a file
    never waits for the child, so it waits only when AHEAD batches are waiting for it."""

    def __init__(self, path: Path) -> None:
        env = {**os.environ,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(_ROOT),
                                                           os.environ.get("PYTHONPATH")]))}
        fds: list[int] = []
        try:
            self.folder = Path(tempfile.mkdtemp(prefix="marketpass-rebuild-"))
            names_r, names_w = _pipe(fds)
            replies_r, replies_w = _pipe(fds)
            self.process = subprocess.Popen(
                [sys.executable, "-m", "search.sqlite_beside", str(path), str(self.folder),
                 str(names_r), str(replies_w)], pass_fds=(names_r, replies_w), env=env)
        except OSError as error:
            for fd in fds:
                os.close(fd)
            if hasattr(self, "folder"):
                shutil.rmtree(self.folder, ignore_errors=True)
            raise ChildUnavailable(f"the index writer could not start: {error}") from error
        os.close(names_r)
        os.close(replies_w)
        self.ended = False  # the end mark sent
        self.names = Connection(names_w, readable=False)
        self.replies = Connection(replies_r, writable=False)
        self.sent = self.done = 0

    def send(self, batch: Batch | Gathered | None) -> None:
        """Hand the child a batch (None: the end), once fewer than AHEAD wait for it."""
        while self.sent - self.done >= AHEAD:
            self.expect("written one", LOCK_TIMEOUT)
        name = ""
        try:
            if batch is not None:
                name = str(self.folder / str(self.sent))
                with open(name, "wb") as file:  # in frames: no buffer the size of the batch
                    pickle.dump(batch, file, pickle.HIGHEST_PROTOCOL)
                self.sent += 1
            self.names.send(name)
        except OSError:  # the child stopped (and removed its folder): say why
            self.expect("written", 5.0)
            raise BackendError("the index writer stopped early") from None
        self.ended = batch is None

    def expect(self, what: str, timeout: float):
        """The child's next reply, which must be ``what`` (or a report of a batch written,
        taken in passing); its error, or its death, raised."""
        deadline = time.monotonic() + timeout
        while True:
            while not self.replies.poll(0.05):
                if self.process.poll() is not None and not self.replies.poll(0):
                    raise BackendError(
                        f"the index writer stopped (exit code {self.process.returncode})")
                if time.monotonic() > deadline:
                    raise BackendError(f"the index writer did not answer within {timeout:.0f} s")
            kind, value = self._take()
            if kind == what:
                return value

    def waiting(self) -> int:
        """How many batches wait for the child (the one it writes included)."""
        while self.replies.poll(0):
            self._take()
        return self.sent - self.done

    def _take(self) -> tuple[str, object]:
        try:
            kind, value = self.replies.recv()
        except EOFError:
            raise BackendError("the index writer stopped "
                               f"(exit code {self.process.wait()})") from None
        if kind == "failed":
            raise BackendError(f"the index writer failed: {value}")
        if kind == "written one":
            self.done = value
        return kind, value

    def close(self, failed: bool) -> None:
        """Let the child end. Failed before the end mark, the closed pipe makes it remove its
        new file; failed after it (waiting for the switch), it is killed: the path then links
        to either the old file or the whole new one (a file left half-written is removed by
        the next rebuild)."""
        if failed and self.ended:
            self.process.kill()
        self.names.close()
        try:
            self.process.wait(FINISH_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.replies.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def rebuild_beside(path: Path, docs: Iterable[Document], size: int | None = None) -> int:
    """Replace the index at ``path`` by these documents (``size`` of them, if known), written
    by a child process."""
    last = -1 if size is None else (size - 1) // BATCH  # the number of the last batch
    child = _Child(path)
    failed = True
    try:
        # Batches hold no cycles: without the pause, the collections their objects set off
        # walk every object of the caller (its documents) again and again.
        with collector_paused():
            child.expect("locked", LOCK_TIMEOUT)
            for number, chunk in enumerate(chunked(docs, BATCH)):
                batch: Batch | Gathered = gather(chunk)
                # Else the child analyses it; the last ones here, as the child will have the
                # others waiting to write by then.
                if child.waiting() >= KEEP_BUSY or last - number < AHEAD:
                    batch = finish(batch)
                child.send(batch)
            child.send(None)
            written = child.expect("written", FINISH_TIMEOUT)
            failed = False
            return written
    finally:
        child.close(failed)


def _pipe(fds: list[int]) -> tuple[int, int]:
    read, write = os.pipe()
    fds += [read, write]
    return read, write


def _write(path: str, folder: str, names: Connection, replies: Connection) -> None:
    """The child: fill a new index file from the batches named until the end mark (an empty
    name), then switch the index to it; reply how many documents it wrote, or why it failed.
    It removes the batches' folder as it ends (the caller may have been killed)."""
    try:
        backend = SqliteBackend(path)
        with collector_paused(), backend._rebuilding() as conn:
            replies.send(("locked", None))
            written = fill(conn, _received(names, replies))
        backend.close()
        replies.send(("written", written))
    except BaseException as error:  # noqa: BLE001 - everything goes back to the caller
        try:
            replies.send(("failed", "".join(traceback.format_exception_only(error)).strip()))
        except OSError:  # the caller is gone
            pass
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _received(names: Connection, replies: Connection) -> Iterator[Batch]:
    """The batches as they come (analysed here when sent gathered), reporting each one
    written. A pipe closed before the end mark raises EOFError: the write rolls back."""
    for done, name in enumerate(iter(names.recv, ""), start=1):
        with open(name, "rb") as file:
            batch = pickle.load(file)
        os.unlink(name)
        yield batch if isinstance(batch, Batch) else finish(batch)
        replies.send(("written one", done))


if __name__ == "__main__":
    _write(sys.argv[1], sys.argv[2], Connection(int(sys.argv[3]), writable=False),
           Connection(int(sys.argv[4]), readable=False))
