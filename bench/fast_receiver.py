"""The benchmarks' receiver: a bare ASGI app under uvicorn answering 200 to every POST, as fast as it can."""

import json

BODY = json.dumps({"success": True, "message": "ok", "action": "created"}).encode()


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]})
    await send({"type": "http.response.body", "body": BODY})
