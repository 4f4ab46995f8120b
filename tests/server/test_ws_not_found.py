"""A websocket path that names no session gets a protocol error and 4404, not a 500."""

import pytest
from channels.testing import WebsocketCommunicator

from dmmviz import protocol
from dmmviz.asgi import application

from .conftest import ORIGIN

pytestmark = [pytest.mark.asyncio]


@pytest.mark.parametrize("path", ["/ws/session/not-a-uuid/", "/ws/nothing-here/"])
async def test_garbage_websocket_path_gets_clear_error(path):
    comm = WebsocketCommunicator(application, path, headers=[ORIGIN])
    connected, _ = await comm.connect()
    assert connected
    error = await comm.receive_json_from()
    assert error["type"] == "error" and error["code"] == "session_not_found" and path in error["message"]
    assert await comm.receive_output() == {"type": "websocket.close", "code": protocol.CLOSE_SESSION_NOT_FOUND}
    await comm.disconnect()
