"""What every tamago screen shares."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import Screen
from textual.worker import Worker, WorkerState

ResultType = TypeVar("ResultType")


class BaseScreen(Screen[ResultType]):
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A background job that failed unexpectedly ends in a readable error, never in silence."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.log.error(f"worker {event.worker.name} failed: {event.worker.error!r}")
            self.app.show_error(event.worker.error, context=f"Background task {event.worker.name!r} failed.")
