"""What every tamago screen shares: escape goes back, and failed workers are shown."""

from __future__ import annotations

from typing import TypeVar

from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

ResultType = TypeVar("ResultType")


class BaseScreen(Screen[ResultType]):
    # Screens with their own escape (cancel, done, clear the filter) override this one.
    BINDINGS = [Binding("escape", "back", "Back", id="screen.back")]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            # A top-level screen (F2-F5) has nowhere to go back to: no key shown, nothing done.
            # (Not the stack's length: the palette or a dialog on top of this screen adds to it.)
            stack = self.app.screen_stack
            return self in stack and stack.index(self) > 0
        return True

    def action_back(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A background job that failed unexpectedly ends in a readable error, never in silence."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.log.error(f"worker {event.worker.name} failed: {event.worker.error!r}")
            self.app.show_error(event.worker.error, context=f"Background task {event.worker.name!r} failed.")
