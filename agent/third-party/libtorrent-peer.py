#!/usr/bin/python3
"""Drives one libtorrent session for seedstream's interoperability tests.

Run with Debian's /usr/bin/python3 (python3-libtorrent is installed for it only).

Peer mode:   libtorrent-peer.py --config '{"torrent": ..., "saveDir": ..., ...}'
    stdout: one JSON object per line ("event": listening | progress | timing | finished |
            tracker | peer | error | exiting); stderr: diagnostics. "timing" comes right before
            "finished": the download's first payload block to verified completion, session start
            to finished, and the process's CPU time.
    stdin:  one JSON command per line: {"cmd": "connect", "host": h, "port": p},
            {"cmd": "reannounce"}, {"cmd": "status"}, {"cmd": "quit"}. EOF on stdin means quit, so
            the driver never outlives its parent. {"cmd": "peers", "id": n} answers with one
            {"event": "peers", "id": n, "peers": [...], "availability": [...]} line: each connected
            peer's endpoint, client and the pieces libtorrent believes it has ("0"/"1" per piece),
            and piece_availability() (empty for a seed, which keeps no picker).

Torrent mode: libtorrent-peer.py --make-torrent --content PATH --out FILE
              [--piece-length N] [--announce URL ...] [--creation-date SECONDS]
    Writes a v1-only .torrent made by libtorrent (an implementation independent of ours) and
    prints {"infoHash": hex, "pieceLength": n, "pieceCount": n, "length": n}.
"""

import argparse
import json
import os
import queue
import resource
import select
import sys
import threading
import time

import libtorrent as lt

FLUSH_TIMEOUT_S = 5.0
QUIT_GRACE_S = 2.0


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


def make_torrent(args):
    content = os.path.abspath(args.content)
    fs = lt.file_storage()
    lt.add_files(fs, content)
    if fs.num_files() == 0:
        raise SystemExit("no files under " + content)
    # v1 only: libtorrent 2.0 makes hybrid v1+v2 torrents by default, which Transmission 3.00,
    # aria2 1.36 and seedstream's peer do not all understand.
    ct = lt.create_torrent(fs, args.piece_length, flags=lt.create_torrent.v1_only)
    for url in args.announce or []:
        ct.add_tracker(url)
    ct.set_creator("seedstream test fixture (libtorrent " + lt.__version__ + ")")
    lt.set_piece_hashes(ct, os.path.dirname(content))
    entry = ct.generate()
    if args.creation_date is not None:
        entry[b"creation date"] = args.creation_date
    data = lt.bencode(entry)
    with open(args.out, "wb") as f:
        f.write(data)
    ti = lt.torrent_info(data)
    emit(
        {
            "infoHash": str(ti.info_hashes().v1),
            "pieceLength": ti.piece_length(),
            "pieceCount": ti.num_pieces(),
            "length": ti.total_size(),
        }
    )


def cpu_ms():
    """CPU time of the whole process (every libtorrent thread), like Node's process.cpuUsage()."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (ru.ru_utime + ru.ru_stime) * 1000.0


def elapsed_ms(start, end):
    return None if start is None or end is None else round((end - start) * 1000.0, 3)


def listen_spec(host, port):
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def base_alert_mask(cfg):
    categories = (
        lt.alert.category_t.error_notification
        | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification
        | lt.alert.category_t.connect_notification
        | lt.alert.category_t.peer_notification
        | lt.alert.category_t.storage_notification
    )
    if cfg.get("debugLog"):
        categories |= (
            lt.alert.category_t.session_log_notification
            | lt.alert.category_t.torrent_log_notification
            | lt.alert.category_t.peer_log_notification
        )
    return categories


def session_settings(cfg):
    categories = base_alert_mask(cfg)
    if cfg.get("mode") == "download":
        # Only until the first block arrives (see Peer.handle_alert): its time starts the
        # transfer clock. Left on, it would cost an alert per 16 KiB block.
        categories |= lt.alert.category_t.block_progress_notification
    s = {}
    if cfg.get("profile", "fast") == "fast":
        s.update(lt.high_performance_seed())
        s.update(
            {
                # uTP's congestion control throttles hard on loopback and in shaped labs; TCP
                # gives repeatable throughput.
                "enable_outgoing_utp": False,
                "enable_incoming_utp": False,
                "tick_interval": 100,
            }
        )
    s.update(
        {
            "listen_interfaces": listen_spec(cfg.get("host", "127.0.0.1"), cfg.get("port", 0)),
            "enable_dht": False,
            "enable_lsd": False,
            "enable_upnp": False,
            "enable_natpmp": False,
            "enable_ip_notifier": False,
            "dht_bootstrap_nodes": "",
            # Every peer of a loopback test shares 127.0.0.1; libtorrent otherwise keeps only
            # one connection per IP.
            "allow_multiple_connections_per_ip": True,
            "alert_mask": categories,
            "user_agent": "seedstream-test/libtorrent-" + lt.__version__,
        }
    )
    return s


class Peer:
    def __init__(self, cfg):
        self.cfg = cfg
        self.commands = queue.Queue()
        self.started_at = time.monotonic()
        self.listening_cpu_ms = None
        self.first_payload_at = None
        self.completed_at = None
        self.session = lt.session(session_settings(cfg))
        # session.wait_for_alert() is not used: the binding wraps the alert pointer it returns
        # after the lock is released, and the network thread may already have moved the alert
        # queue (it grows under load) -> SIGSEGV in __dynamic_cast. libtorrent writes a byte to
        # this pipe instead when alerts become available.
        self.alert_pipe, alert_write = os.pipe()
        os.set_blocking(self.alert_pipe, False)
        os.set_blocking(alert_write, False)
        self.session.set_alert_fd(alert_write)
        self.handle = None
        self.listening = False
        self.finished_emitted = False
        self.flush_deadline = None
        self.checked = False
        self.quit_requested = False

    def wait_for_alerts(self, timeout_s):
        select.select([self.alert_pipe], [], [], timeout_s)
        try:
            os.read(self.alert_pipe, 4096)
        except BlockingIOError:
            pass

    def read_stdin(self):
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            try:
                self.commands.put(json.loads(line))
            except ValueError as e:
                emit({"event": "error", "message": "bad command line: %s (%s)" % (line[:200], e)})
        self.commands.put({"cmd": "quit"})

    def add_torrent(self):
        cfg = self.cfg
        atp = lt.add_torrent_params()
        atp.ti = lt.torrent_info(cfg["torrent"])
        atp.save_path = cfg["saveDir"]
        trackers = cfg.get("trackers")
        if trackers is not None:
            atp.trackers = list(trackers)
            atp.flags |= lt.torrent_flags.override_trackers
        # Not auto-managed: the queueing logic would otherwise be free to pause us.
        atp.flags &= ~lt.torrent_flags.auto_managed
        atp.flags &= ~lt.torrent_flags.paused
        if cfg.get("sequential"):
            atp.flags |= lt.torrent_flags.sequential_download
        if cfg.get("uploadLimit"):
            atp.upload_limit = int(cfg["uploadLimit"])
        if cfg.get("downloadLimit"):
            atp.download_limit = int(cfg["downloadLimit"])
        self.handle = self.session.add_torrent(atp)
        for p in cfg.get("peers", []):
            self.connect(p["host"], p["port"])

    def connect(self, host, port):
        if self.handle is None:
            emit({"event": "error", "message": "connect before the torrent was added"})
            return
        self.handle.connect_peer((host, int(port)))

    def status_event(self):
        st = self.handle.status()
        return {
            "event": "progress",
            "progress": st.progress,
            "downloaded": st.total_wanted_done,
            "wanted": st.total_wanted,
            "uploaded": st.all_time_upload,
            "downloadRate": st.download_payload_rate,
            "uploadRate": st.upload_payload_rate,
            "peers": st.num_peers,
            "seeds": st.num_seeds,
            "pieces": st.num_pieces,
            "state": str(st.state),
            "error": st.errc.message() if st.errc.value() != 0 else None,
        }

    def peers_event(self, request_id):
        peers = []
        for p in self.handle.get_peer_info():
            client = p.client
            if isinstance(client, bytes):
                client = client.decode("utf-8", "replace")
            peers.append(
                {
                    "ip": str(p.ip[0]),
                    "port": int(p.ip[1]),
                    "client": client,
                    "pieces": "".join("1" if have else "0" for have in p.pieces),
                }
            )
        return {
            "event": "peers",
            "id": request_id,
            "peers": peers,
            "availability": list(self.handle.piece_availability()),
        }

    def handle_command(self, c):
        cmd = c.get("cmd")
        if cmd == "connect":
            self.connect(c["host"], c["port"])
        elif cmd == "reannounce":
            self.handle.force_reannounce()
        elif cmd == "status":
            emit(self.status_event())
        elif cmd == "peers":
            emit(self.peers_event(c.get("id")))
        elif cmd == "quit":
            self.quit_requested = True
        else:
            emit({"event": "error", "message": "unknown command %r" % (cmd,)})

    def handle_alert(self, a):
        if isinstance(a, lt.listen_succeeded_alert):
            if a.socket_type == lt.socket_type_t.tcp and not self.listening:
                self.listening = True
                self.listening_cpu_ms = cpu_ms()
                emit({"event": "listening", "host": str(a.address), "port": a.port})
        elif isinstance(a, lt.listen_failed_alert):
            emit({"event": "error", "fatal": True, "message": a.message()})
            self.quit_requested = True
        elif isinstance(a, lt.block_finished_alert):
            if self.first_payload_at is None:
                self.first_payload_at = time.monotonic()
                self.session.apply_settings({"alert_mask": base_alert_mask(self.cfg)})
        elif isinstance(a, lt.torrent_finished_alert):
            # All wanted pieces are here and passed their hash check (not yet flushed).
            if self.completed_at is None:
                self.completed_at = time.monotonic()
        elif isinstance(a, lt.torrent_checked_alert):
            self.checked = True
            if self.cfg.get("mode") == "seed" and not self.handle.status().is_seeding:
                st = self.handle.status()
                emit(
                    {
                        "event": "error",
                        "fatal": True,
                        "message": "seed content in %s fails the hash check (%d of %d pieces)"
                        % (self.cfg["saveDir"], st.num_pieces, self.handle.torrent_file().num_pieces()),
                    }
                )
                self.quit_requested = True
        elif isinstance(a, (lt.torrent_error_alert, lt.file_error_alert)):
            emit({"event": "error", "fatal": True, "message": a.message()})
            self.quit_requested = True
        elif isinstance(a, lt.tracker_reply_alert):
            emit({"event": "tracker", "kind": "reply", "url": a.tracker_url(), "peers": a.num_peers})
        elif isinstance(a, lt.tracker_error_alert):
            emit({"event": "tracker", "kind": "error", "url": a.tracker_url(), "message": a.message()})
        elif isinstance(a, lt.tracker_warning_alert):
            emit({"event": "tracker", "kind": "warning", "url": a.tracker_url(), "message": a.message()})
        elif isinstance(a, lt.peer_connect_alert):
            emit({"event": "peer", "kind": "connected", "endpoint": "%s:%d" % a.endpoint})
        elif isinstance(a, lt.peer_disconnected_alert):
            emit({"event": "peer", "kind": "disconnected", "endpoint": "%s:%d" % a.endpoint, "reason": a.message()})
        elif isinstance(a, lt.cache_flushed_alert):
            self.emit_finished()
        elif isinstance(a, lt.log_alert) or isinstance(a, lt.torrent_log_alert) or isinstance(a, lt.peer_log_alert):
            log(a.message())

    def emit_finished(self):
        if not self.finished_emitted:
            self.finished_emitted = True
            self.flush_deadline = None
            finished_at = time.monotonic()
            cpu = cpu_ms()
            emit(self.status_event())
            emit(
                {
                    "event": "timing",
                    "transferMs": elapsed_ms(self.first_payload_at, self.completed_at),
                    "elapsedMs": elapsed_ms(self.started_at, finished_at),
                    "cpuMs": round(cpu, 3),
                    "cpuSinceListeningMs": None
                    if self.listening_cpu_ms is None
                    else round(cpu - self.listening_cpu_ms, 3),
                }
            )
            emit({"event": "finished"})

    def maybe_finished(self):
        if self.finished_emitted or self.flush_deadline is not None or not self.checked:
            return
        if self.handle.status().is_finished:
            # Report "finished" only once the pieces are on disk, so the caller can read the files.
            self.handle.flush_cache()
            self.flush_deadline = time.monotonic() + FLUSH_TIMEOUT_S

    def run(self):
        threading.Thread(target=self.read_stdin, daemon=True).start()
        self.add_torrent()
        interval = max(0.05, self.cfg.get("progressIntervalMs", 250) / 1000.0)
        next_progress = time.monotonic()
        while not self.quit_requested:
            self.wait_for_alerts(0.05)
            for a in self.session.pop_alerts():
                self.handle_alert(a)
            while True:
                try:
                    self.handle_command(self.commands.get_nowait())
                except queue.Empty:
                    break
            self.maybe_finished()
            now = time.monotonic()
            if self.flush_deadline is not None and now >= self.flush_deadline:
                self.emit_finished()
            if now >= next_progress:
                emit(self.status_event())
                next_progress = now + interval
        emit({"event": "exiting"})
        # Stopped-announces would otherwise hold the exit for the default tracker timeout.
        self.session.apply_settings({"stop_tracker_timeout": 1})
        self.session.remove_torrent(self.handle)
        deadline = time.monotonic() + QUIT_GRACE_S
        while time.monotonic() < deadline:
            self.wait_for_alerts(0.05)
            if any(isinstance(a, lt.torrent_removed_alert) for a in self.session.pop_alerts()):
                break


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--config")
    p.add_argument("--make-torrent", action="store_true")
    p.add_argument("--content")
    p.add_argument("--out")
    p.add_argument("--piece-length", type=int, default=0)
    p.add_argument("--announce", action="append")
    p.add_argument("--creation-date", type=int)
    args = p.parse_args()
    if args.make_torrent:
        if not args.content or not args.out:
            p.error("--make-torrent needs --content and --out")
        make_torrent(args)
        return
    if not args.config:
        p.error("--config or --make-torrent is required")
    Peer(json.loads(args.config)).run()


if __name__ == "__main__":
    main()
