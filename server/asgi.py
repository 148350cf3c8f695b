"""The one module-level app, for ASGI servers: `uvicorn server.asgi:app`."""

from server.app import create_asgi

app = create_asgi()
