"""Start a studio: check the address, say where it is, serve until Ctrl+C (uvicorn)."""

from __future__ import annotations

import socket
from collections.abc import Callable

from tribute.errors import TributeError
from tribute.studio.service import LOOPBACK, StudioConfig

SHUTDOWN_S = 3  # open event streams get this long to close after Ctrl+C


def url_of(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def exposure_warning(host: str, port: int) -> str | None:
    """The warning for a bind beyond this machine (None for a loopback address)."""
    if host in LOOPBACK:
        return None
    return (
        f"warning: the studio listens on {host}:{port}, reachable from other machines; it has "
        "no login: anyone who reaches this port can compose, upload files and read every song "
        "under --work. Bind to 127.0.0.1 (the default) unless that is what you want."
    )


def check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TributeError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); pass another --port"
            ) from None


def serve(config: StudioConfig, log: Callable[..., None] = print) -> None:
    """Run the studio of ``config`` until interrupted."""
    import uvicorn

    from tribute.studio.app import create_app
    from tribute.studio.service import Studio

    warning = exposure_warning(config.host, config.port)
    if warning:
        log(warning)
    check_port(config.host, config.port)
    studio = Studio(config)
    log("loading the composer (torch) …")
    studio.ready()
    app = create_app(config, studio)
    models = ", ".join(studio.catalog.models)
    log(f"models: {models}; work folder: {studio.work}")
    log(f"tribute studio: {url_of(config.host, config.port)}  (Ctrl+C stops it)")
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=SHUTDOWN_S,
        )
    )
    server.run()
