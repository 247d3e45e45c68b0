"""The sync benchmark: a 100,000-message Dovecot mailbox, ratios measured in one run.

    sudo .venv/bin/python bench/run.py [--messages N] [--repeat N] [--no-mbsync]

It starts a private Dovecot with the test-server code (tests/servers, so it
must run as root, like the integration tests), writes the generated mailbox
straight into Maildir files (bench/generate.py: ~2,000 correspondents, 15%
with attachments, a Sent folder, one correspondent with 10% of the mail), lets
Dovecot index it, and warms both fetch paths once. Then it measures:

1. full header sync into a fresh index (`tamago sync` in a child process, so
   start-up, login and its peak RSS are included) against the baseline: raw
   imaplib `UID FETCH lo:hi (ENVELOPE)` in 5,000-UID chunks, unparsed, same
   mailbox, same run (a second baseline fetches tamago's own items unparsed);
2. a no-change resync on an open connection (round-trips per folder) and as a
   fresh `tamago sync` process, against mbsync's steady-state no-change run
   (Debian's isync package) when it is installed;
3. a contact visit for the correspondent with 10% of the mail: the first
   screen of headers from the index, the whole list, and the update check;
4. peak memory (max RSS of the child process) of the full sync.

Timings are the best of --repeat runs. Results go to bench/results/ (git
ignores it). Nothing here is asserted anywhere: benchmarks are not tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import imaplib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import generate  # noqa: E402
from tests.servers.certs import TestCA  # noqa: E402
from tests.servers.dovecot import Dovecot  # noqa: E402
from tests.servers.process import private_dir, remove_dir  # noqa: E402

CHUNK = 5000
TAMAGO_ITEMS = ("(UID FLAGS RFC822.SIZE INTERNALDATE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS "
                "(FROM TO CC BCC DATE SUBJECT MESSAGE-ID IN-REPLY-TO REFERENCES)])")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the mailbox ----------------------------------------------------------------


def load_mailbox(server: Dovecot, user, messages: int) -> dict:
    """Write the generated messages as Maildir files, one bulk_load per folder and day."""
    counts = {"INBOX": 0, "Sent": 0}
    batch: list[bytes] = []
    key = None
    for folder, stamp, raw in generate.generate(messages):
        day = (folder, int(stamp // 86400))
        if key is not None and day != key and batch:
            server.bulk_load(user, key[0], batch, date=dt.datetime.fromtimestamp(key[1] * 86400 + 3600, dt.timezone.utc))
            batch = []
        key = day
        batch.append(raw)
        counts[folder] += 1
    if batch:
        server.bulk_load(user, key[0], batch, date=dt.datetime.fromtimestamp(key[1] * 86400 + 3600, dt.timezone.utc))
    return counts


# -- the baseline ---------------------------------------------------------------------


def raw_fetch(server: Dovecot, user, ca: TestCA, items: str) -> tuple[float, int, float]:
    """imaplib, chunked UID FETCH of every message, responses left unparsed: (wall, bytes, CPU)."""
    start = time.perf_counter()
    cpu = time.process_time()
    imap = imaplib.IMAP4_SSL("127.0.0.1", server.ports["imaps"], ssl_context=ca.client_context())
    imap.login(user.login, user.password)
    total = 0
    for folder in ("INBOX", "Sent"):
        imap.select(folder, readonly=True)
        _, data = imap.uid("SEARCH", "ALL")
        uids = [int(u) for u in data[0].split()]
        for i in range(0, len(uids), CHUNK):
            part = uids[i : i + CHUNK]
            _, data = imap.uid("FETCH", f"{part[0]}:{part[-1]}", items)
            total += sum(len(x[1]) + len(x[0]) if isinstance(x, tuple) else len(x) for x in data)
    imap.logout()
    return time.perf_counter() - start, total, time.process_time() - cpu


# -- tamago ----------------------------------------------------------------------------


def write_config(home: Path, server: Dovecot, user, secret: Path) -> None:
    from tamago_tui.backend import config as config_mod
    from tamago_tui.backend.models import Account, Security, ServerSettings

    account = Account(
        name="bench", email=user.address,
        imap=ServerSettings("127.0.0.1", server.ports["imaps"], Security.SSL, user.login),
        smtp=ServerSettings("127.0.0.1", 1, Security.SSL, user.login),
        cafile=str(server.cafile), password_command=f"cat {secret}", backfill_days=3650,
    )
    home.mkdir(parents=True, exist_ok=True)
    config_mod.save(config_mod.Config().with_account(account), home / "config.toml")


def tamago_cli(home: Path, *args: str) -> tuple[float, int, dict]:
    """Run `tamago --home HOME ARGS`; (wall seconds, peak RSS in KB, JSON output)."""
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "tamago_tui", "--home", str(home), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=env)
    out, err = proc.stdout.read(), proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"tamago {' '.join(args)} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return wall, usage.ru_maxrss, json.loads(out) if out.strip() else {}


_MEASURED = (
    "import json, resource, sys\n"
    "from tamago_tui.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(json.dumps({'code': code, 'rss_kb': me.ru_maxrss, 'child_rss_kb': kids.ru_maxrss,\n"
    "                  'cpu_s': me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime}), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def tamago_full_sync(home: Path) -> dict:
    """`tamago sync --json` into an empty index: wall time, CPU (with the index writer) and memory."""
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _MEASURED, "--home", str(home), "sync", "--json"],
                          capture_output=True, cwd=ROOT, env=env, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"tamago sync failed ({done.returncode}): {done.stderr[-2000:]}")
    usage = json.loads(done.stderr.strip().splitlines()[-1])
    summary = json.loads(done.stdout)
    return {"wall_s": wall, "cpu_s": usage["cpu_s"], "rss_mb": usage["rss_kb"] / 1024,
            "writer_rss_mb": usage["child_rss_kb"] / 1024,
            "new": sum(f["new"] for f in summary["accounts"][0]["folders"])}


def open_connection_resync(home: Path) -> dict:
    from tamago_tui.backend.services import Services
    from tamago_tui.backend.sync import sync_account

    services = Services.from_home(home)
    account = services.accounts()[0]
    sync_account(services, account)  # logs in; the connection stays in the pool
    best, report = None, None
    for _ in range(5):
        start = time.perf_counter()
        report = sync_account(services, account)
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    services.sessions.close()
    folders = len(report.folders)
    return {"seconds": best, "round_trips": report.round_trips, "folders": folders,
            "unchanged": all(f.unchanged for f in report.folders)}


def visit_numbers(home: Path) -> dict:
    from tamago_tui.backend.history import local_history
    from tamago_tui.backend.services import Services
    from tamago_tui.backend.visit import visit

    services = Services.from_home(home)
    heavy = [generate.HEAVY[1]]
    first, full = [], []
    for _ in range(10):
        store = services.open_store()
        start = time.perf_counter()
        rows = local_history(store, heavy, limit=200)
        first.append(time.perf_counter() - start)
        start = time.perf_counter()
        every = local_history(store, heavy)
        full.append(time.perf_counter() - start)
        store.close()
    visit(services, heavy)  # logs in (the TUI keeps its connection open between visits)
    start = time.perf_counter()
    result = visit(services, heavy)
    took = time.perf_counter() - start
    services.sessions.close()
    report = result.reports[0]
    return {"first_screen_ms": min(first) * 1000, "first_screen_rows": len(rows),
            "all_rows_ms": min(full) * 1000, "rows": len(every), "visit_ms": took * 1000,
            "visit_round_trips": report.round_trips, "folders": len(report.folders)}


# -- mbsync ----------------------------------------------------------------------------


def mbsync_numbers(server: Dovecot, user, secret: Path, work: Path, repeat: int) -> dict | None:
    mbsync = shutil.which("mbsync")
    if mbsync is None:
        return None
    local = work / "mbsync-maildir"
    local.mkdir()
    conf = work / "mbsyncrc"
    conf.write_text(
        f"IMAPAccount bench\nHost localhost\nPort {server.ports['imaps']}\nUser {user.login}\n"
        f'PassCmd "cat {secret}"\nSSLType IMAPS\nCertificateFile {server.cafile}\n\n'
        "IMAPStore bench-remote\nAccount bench\n\n"
        f"MaildirStore bench-local\nPath {local}/\nInbox {local}/INBOX\nSubFolders Verbatim\n\n"
        "Channel bench\nFar :bench-remote:\nNear :bench-local:\nPatterns INBOX Sent\nCreate Near\n"
        "SyncState *\nSync Pull\n"
    )

    def run() -> float:
        start = time.perf_counter()
        done = subprocess.run([mbsync, "-c", str(conf), "-a", "-q"], capture_output=True, timeout=1800, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"mbsync failed: {done.stderr[-2000:]}")
        return time.perf_counter() - start

    full = run()
    first_resync = run()
    steady = min(run() for _ in range(max(repeat, 3)))
    return {"full_sync_s": full, "first_resync_s": first_resync, "steady_resync_s": steady}


# -- the report -------------------------------------------------------------------------


def table(results: dict) -> str:
    b, t, r, v, m = (results[k] for k in ("baseline", "tamago", "resync", "visit", "mbsync"))
    lines = [
        f"Mailbox: {results['messages']:,} messages (INBOX {results['folders']['INBOX']:,}, "
        f"Sent {results['folders']['Sent']:,}), {results['cpus']} CPUs; best of {results['repeat']}",
        "load average (1 min) around the full syncs: "
        + ", ".join(f"{x:.2f}" for x in results.get("load", ())) + " (other jobs on the machine inflate the ratio)",
        "",
        f"{'measure':<58}{'value':>12}{'ratio':>10}",
        "-" * 80,
        f"{'baseline: imaplib UID FETCH (ENVELOPE), unparsed':<58}{b['envelope_s']:>10.2f} s{'1.00x':>10}",
        f"{'baseline: imaplib UID FETCH (tamago items), unparsed':<58}{b['items_s']:>10.2f} s"
        f"{b['items_s'] / b['envelope_s']:>9.2f}x",
        f"{'tamago sync, full header index (process incl. start-up)':<58}{t['full_s']:>10.2f} s"
        f"{t['full_s'] / b['envelope_s']:>9.2f}x",
        f"{'  goal: within 5x the ENVELOPE baseline':<58}{'':>12}{'met' if t['full_s'] <= 5 * b['envelope_s'] else 'MISSED':>10}",
        f"{'  ratio per interleaved pair (median)':<58}{'':>12}{statistics.median(t['pair_ratios']):>9.2f}x",
        f"{'  CPU of tamago (both processes) / of the baseline client':<58}{t['cpu_s']:>10.2f} s"
        f"{t['cpu_s'] / b['envelope_cpu_s']:>9.2f}x",
        f"{'  peak memory: sync process + index writer process (max RSS)':<58}"
        f"{t['max_rss_mb'] + t['writer_rss_mb']:>9.0f} MB"
        f"{'met' if t['max_rss_mb'] + t['writer_rss_mb'] < 150 else 'MISSED':>10}",
        f"{'no-change resync, open connection':<58}{r['open_ms']:>9.1f} ms"
        f"{'':>10}",
        f"{'  round-trips per folder':<58}{r['round_trips'] / r['folders']:>12.2f}"
        f"{'met' if r['round_trips'] <= r['folders'] else 'MISSED':>10}",
        f"{'no-change resync, fresh `tamago sync` process':<58}{r['process_s']:>10.2f} s{'':>10}",
    ]
    if m:
        lines += [
            f"{'mbsync no-change resync, steady state':<58}{m['steady_resync_s']:>10.2f} s"
            f"{r['process_s'] / m['steady_resync_s']:>9.2f}x",
            f"{'  (mbsync first resync after its full sync)':<58}{m['first_resync_s']:>10.2f} s{'':>10}",
            f"{'mbsync full sync (whole messages), for reference':<58}{m['full_sync_s']:>10.2f} s"
            f"{m['full_sync_s'] / b['envelope_s']:>9.2f}x",
        ]
    elif results.get("mbsync_skipped"):
        lines.append("mbsync: skipped (--no-mbsync)")
    else:
        lines.append("mbsync: not installed (Debian package isync); no comparison")
    lines += [
        f"{'visit, heavy correspondent: first screen from the index':<58}{v['first_screen_ms']:>9.1f} ms"
        f"{'met' if v['first_screen_ms'] < 50 else 'MISSED':>10}",
        f"{'  all ' + format(v['rows'], ',') + ' rows from the index':<58}{v['all_rows_ms']:>9.1f} ms{'':>10}",
        f"{'  brought up to date (round-trips per folder)':<58}"
        f"{v['visit_round_trips'] / v['folders']:>12.2f}{'':>10}",
        f"{'  whole visit, open connection':<58}{v['visit_ms']:>9.1f} ms{'':>10}",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=100_000, help="mailbox size (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best counts")
    parser.add_argument("--no-mbsync", action="store_true", help="skip the mbsync comparison")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root: the private Dovecot (tests/servers) needs it", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="tamago-bench-"))
    ca_dir = private_dir("bench-ca")
    server = Dovecot(TestCA(ca_dir), users=(), name="dovecot-bench")
    results: dict = {"messages": args.messages, "repeat": args.repeat, "cpus": os.cpu_count()}
    try:
        server.start()
        user = server.add_user("standard")
        secret = work / "password"
        secret.write_text(user.password + "\n")
        os.chmod(secret, 0o600)
        log(f"writing {args.messages:,} messages...")
        start = time.perf_counter()
        results["folders"] = load_mailbox(server, user, args.messages)
        results["generate_s"] = time.perf_counter() - start
        log("Dovecot indexing, warming both fetch paths...")
        start = time.perf_counter()
        for folder in ("INBOX", "Sent"):
            server.doveadm("index", "-u", user.address, folder)
        raw_fetch(server, user, server.ca, "(ENVELOPE)")
        raw_fetch(server, user, server.ca, TAMAGO_ITEMS)
        results["index_s"] = time.perf_counter() - start

        log("baseline and tamago's full header sync, interleaved...")
        envelope, items, runs = [], [], []
        results["load"] = [os.getloadavg()[0]]
        for attempt in range(args.repeat):
            envelope.append(raw_fetch(server, user, server.ca, "(ENVELOPE)"))
            items.append(raw_fetch(server, user, server.ca, TAMAGO_ITEMS))
            home = work / f"home-{attempt}"
            write_config(home, server, user, secret)
            runs.append(tamago_full_sync(home))
            results["load"].append(os.getloadavg()[0])
        results["baseline"] = {"envelope_s": min(e[0] for e in envelope), "envelope_bytes": envelope[0][1],
                               "envelope_cpu_s": min(e[2] for e in envelope),
                               "items_s": min(i[0] for i in items), "items_bytes": items[0][1]}
        best = min(runs, key=lambda r: r["wall_s"])
        results["tamago"] = {
            "full_s": best["wall_s"], "cpu_s": min(r["cpu_s"] for r in runs), "indexed": best["new"],
            "all_s": [r["wall_s"] for r in runs],
            "pair_ratios": [r["wall_s"] / e[0] for r, e in zip(runs, envelope)],
            "max_rss_mb": max(r["rss_mb"] for r in runs), "writer_rss_mb": max(r["writer_rss_mb"] for r in runs),
        }
        home = work / f"home-{runs.index(best)}"

        log("no-change resyncs...")
        opened = open_connection_resync(home)
        process = [tamago_cli(home, "sync", "--json")[0] for _ in range(max(args.repeat, 5))]
        results["resync"] = {"open_ms": opened["seconds"] * 1000, "round_trips": opened["round_trips"],
                             "folders": opened["folders"], "unchanged": opened["unchanged"],
                             "process_s": min(process), "process_median_s": statistics.median(process)}

        log("contact visit...")
        results["visit"] = visit_numbers(home)

        results["mbsync"] = None
        results["mbsync_skipped"] = args.no_mbsync
        if not args.no_mbsync:
            log("mbsync (a full sync of whole messages first; this takes a while)...")
            results["mbsync"] = mbsync_numbers(server, user, secret, work, args.repeat)
    finally:
        server.stop()
        remove_dir(ca_dir)
        shutil.rmtree(work, ignore_errors=True)
    text = table(results)
    print(text)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (out / f"sync-{args.messages}-{stamp}.json").write_text(json.dumps(results, indent=2, default=str))
    (out / f"sync-{args.messages}-{stamp}.txt").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
