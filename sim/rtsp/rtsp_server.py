#!/usr/bin/python3
"""RTSP servers for the PSCS simulator: one GstRtspServer per camera, all in one GLib main loop.

Each camera's mount re-payloads the H.264 RTP that the simulator's ffmpeg sends to a loopback UDP
port, with shared media so that every client sees the one encode.

Every mount demands RTSP Digest authentication with the camera's user and password, as real cameras
do; it is checked per RTSP request (DESCRIBE, SETUP, PLAY), never per packet.

Config (argv[1], JSON): {"address": "127.0.0.1", "user": "admin", "sessionTimeout": 60, "cameras":
[{"id": "cam1", "rtspPort": 18100, "rtpPort": 18200, "path": "/stream"}]}; a session not kept alive
(any RTSP request on it) for sessionTimeout seconds is expired, as cameras do (gst-rtsp-server spares
a session while it streams to it over TCP); the password comes in the environment
(PSCS_SIM_RTSP_PASSWORD), since every user on the host can read a process's argv.
Commands (stdin, one JSON object per line):
  {"cmd": "refuse", "port": N, "on": true|false}  stop/resume accepting RTSP on that port; refusing
                                                  also drops the clients already connected.
  {"cmd": "path", "port": N, "path": "/p"}       serve the stream at another path (a camera whose
                                                  media profile was reconfigured); drops the clients.
  {"cmd": "stats", "port": N}                    nothing changed: the answer's counts are the point.
Events (stdout, one JSON object per line): {"event": "ready"}, {"event": "ok", ...} (every "ok" carries
the port's "clients": RTSP connections open, and "sessions": RTSP sessions set up and not torn down),
{"event": "error", "message": ...}. Exits when stdin closes or on SIGTERM/SIGINT.
"""
import json
import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

LAUNCH = (
    '( udpsrc port={rtp} caps="application/x-rtp,media=video,clock-rate=90000,'
    'encoding-name=H264,payload=96" ! rtph264depay ! h264parse ! '
    "rtph264pay name=pay0 pt=96 config-interval=1 )"
)


ROLE = "camera-user"
REALM = "PSCS Sim"


def digest_auth(user, password):
    """Digest only, as cameras answer: Basic would send the password in clear on every request."""
    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    auth.set_realm(REALM)
    token = GstRtspServer.RTSPToken.new()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, ROLE)
    auth.add_digest(user, password, token)
    return auth


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class CameraServer:
    """One camera's RTSP endpoint. Refusing closes the listening socket (clients get 'connection
    refused', as from a camera that is down), not merely an unanswered accept queue."""

    def __init__(self, address, cam, auth, session_timeout):
        self.address = address
        self.session_timeout = session_timeout
        self.auth = auth
        self.port = int(cam["rtspPort"])
        self.factory = GstRtspServer.RTSPMediaFactory()
        self.factory.set_launch(LAUNCH.format(rtp=int(cam["rtpPort"])))
        self.factory.set_shared(True)
        self.factory.add_role_from_structure(
            Gst.Structure.new_from_string(
                f"{ROLE}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"
            )
        )
        self.path = cam.get("path", "/stream")
        self.server = None
        self.source_id = None
        # Tests count what a camera sees: one connection per client, however many sessions it sets up.
        self.clients = 0

    def on_client(self, _server, client):
        self.clients += 1
        client.connect("closed", self.on_closed)
        client.connect("new-session", self.on_session)

    def on_session(self, _client, session):
        session.set_timeout(self.session_timeout)

    def expire(self):
        """Sessions not kept alive are removed (gst-rtsp-server leaves this to the application)."""
        if self.server is not None:
            self.server.get_session_pool().cleanup()
        return True

    def on_closed(self, _client):
        self.clients -= 1

    def sessions(self):
        return self.server.get_session_pool().get_n_sessions() if self.server is not None else 0

    def accept(self):
        if self.server is not None:
            return
        server = GstRtspServer.RTSPServer()
        server.set_address(self.address)
        server.set_service(str(self.port))
        server.set_auth(self.auth)
        server.connect("client-connected", self.on_client)
        server.get_mount_points().add_factory(self.path, self.factory)
        source = server.create_source(None)
        self.source_id = source.attach(None)
        self.server = server

    def move(self, path):
        if self.server is not None:
            mounts = self.server.get_mount_points()
            mounts.remove_factory(self.path)
            mounts.add_factory(path, self.factory)
            self.server.client_filter(lambda _server, client, _data=None: GstRtspServer.RTSPFilterResult.REMOVE)
        self.path = path

    def refuse(self):
        if self.server is None:
            return
        self.server.client_filter(lambda _server, client, _data=None: GstRtspServer.RTSPFilterResult.REMOVE)
        GLib.source_remove(self.source_id)
        self.server = None
        self.source_id = None


def main():
    Gst.init(None)
    config = json.loads(sys.argv[1])
    address = config.get("address", "127.0.0.1")
    password = os.environ.get("PSCS_SIM_RTSP_PASSWORD", "")
    if not config.get("user") or not password:
        emit({"event": "error", "message": "no RTSP credentials: config 'user' and PSCS_SIM_RTSP_PASSWORD"})
        sys.exit(1)
    auth = digest_auth(config["user"], password)
    session_timeout = int(config.get("sessionTimeout", 60))
    cameras = {}
    for cam in config["cameras"]:
        server = CameraServer(address, cam, auth, session_timeout)
        try:
            server.accept()
        except GLib.Error as e:
            emit({"event": "error", "message": f"cannot listen on {address}:{server.port}: {e.message}"})
            sys.exit(1)
        cameras[server.port] = server
    loop = GLib.MainLoop()
    for cam in cameras.values():
        # A session expires within a timeout and a half of its last request.
        GLib.timeout_add_seconds(max(1, session_timeout // 2), cam.expire)

    def on_command(channel, condition):
        if condition & (GLib.IO_HUP | GLib.IO_ERR):
            loop.quit()
            return False
        line = channel.readline()
        if line == "":
            loop.quit()
            return False
        try:
            msg = json.loads(line)
            cam = cameras[int(msg["port"])]
            if msg["cmd"] == "refuse":
                cam.refuse() if msg["on"] else cam.accept()
            elif msg["cmd"] == "path" and str(msg["path"]).startswith("/"):
                cam.move(str(msg["path"]))
            elif msg["cmd"] != "stats":
                raise ValueError(f"unknown cmd {msg['cmd']!r} or bad path")
            emit(
                {
                    "event": "ok",
                    "port": cam.port,
                    "accepting": cam.server is not None,
                    "path": cam.path,
                    "clients": cam.clients,
                    "sessions": cam.sessions(),
                }
            )
        except (ValueError, KeyError, TypeError, GLib.Error) as e:
            emit({"event": "error", "message": f"bad command {line.strip()!r}: {e}"})
        return True

    stdin = GLib.IOChannel.unix_new(sys.stdin.fileno())
    GLib.io_add_watch(stdin, GLib.PRIORITY_DEFAULT, GLib.IO_IN | GLib.IO_HUP | GLib.IO_ERR, on_command)
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_HIGH, sig, loop.quit)
    emit({"event": "ready", "ports": sorted(cameras)})
    loop.run()


if __name__ == "__main__":
    main()
