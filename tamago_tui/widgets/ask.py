"""Ask the user something from a worker thread and wait for the answer."""

from __future__ import annotations

import asyncio

from textual.app import App
from textual.screen import ModalScreen


def ask_from_thread(app: App, screen: ModalScreen):
    """Push `screen` on the UI thread and block this (worker) thread until it is dismissed."""

    async def show():
        future = asyncio.get_running_loop().create_future()
        app.push_screen(screen, lambda result: future.done() or future.set_result(result))
        return await future

    return app.call_from_thread(show)
