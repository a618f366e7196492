"""The 自助查询 worker process (started by cockpit/sqlworker.py; reads one JSON request on stdin,
prints one JSON result line). Signals are caught before anything heavy is imported, so a cancel
that arrives while it starts is honoured, not a traceback."""

import signal
import sys

_state = {"cancelled": False, "timeout": False, "cursor": None}


def _on_signal(signum, frame):  # cancel from the page
    _state["cancelled"] = True
    if _state["cursor"] is not None:
        _state["cursor"].interrupt()


signal.signal(signal.SIGINT, _on_signal)
signal.signal(signal.SIGTERM, _on_signal)

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402


def main() -> None:
    import duckdb
    import pyarrow.ipc as ipc

    req = json.loads(sys.stdin.read())
    t0 = time.time()
    result: dict = {"outcome": "error", "message": ""}
    try:
        con = duckdb.connect(
            req["path"],
            read_only=True,
            config={
                "enable_external_access": False,
                "autoload_known_extensions": False,
                "autoinstall_known_extensions": False,
                "allow_community_extensions": False,
                "memory_limit": req["memory_limit"],
                "threads": int(req["threads"]),
                "lock_configuration": True,
            },
        )
    except Exception as e:  # noqa: BLE001
        print(json.dumps({"outcome": "error", "message": f"无法打开分析库：{e}"}))
        return
    cur = con.cursor()
    _state["cursor"] = cur
    if _state["cancelled"]:
        print(json.dumps({"outcome": "cancelled", "message": "查询已取消。", "seconds": time.time() - t0}))
        return

    def run():
        try:
            reader = cur.sql(req["sql"]).to_arrow_reader(65_536)
            schema = reader.schema
            kept, n, total, cap_hit = [], 0, 0, False
            for batch in reader:
                if n < req["max_rows_export"]:
                    take = batch.slice(0, req["max_rows_export"] - n)
                    kept.append(take)
                    n += take.num_rows
                total += batch.num_rows
                if total >= req["count_cap"]:
                    cap_hit = True
                    break
            reader.close()
            with ipc.new_file(req["out"], schema) as w:
                for b in kept:
                    w.write_batch(b)
            result.update(
                outcome="ok", columns=schema.names, types=[str(t) for t in schema.types],
                rows_total=min(total, req["count_cap"]), count_capped=cap_hit, arrow_path=req["out"],
            )
        except Exception as e:  # noqa: BLE001
            if _state["timeout"]:
                result.update(outcome="timeout", message=f"查询超过 {float(req['timeout']):.0f} 秒，已停止。")
            elif _state["cancelled"]:
                result.update(outcome="cancelled", message="查询已取消。")
            else:
                result.update(outcome="error", message=str(e))

    t = threading.Thread(target=run, daemon=True)
    t.start()
    deadline = t0 + float(req["timeout"])
    while t.is_alive() and time.time() < deadline:
        t.join(0.05)
        if _state["cancelled"]:  # again: an interrupt that lands before the query executes is lost
            cur.interrupt()
    if t.is_alive():  # the time limit: interrupt, then give it the grace period
        _state["timeout"] = True
        cur.interrupt()
        t.join(float(req["grace"]))
        if t.is_alive():
            print(json.dumps({"outcome": "killed", "message": "查询未能及时停止，已终止。", "seconds": time.time() - t0}))
            sys.stdout.flush()
            os._exit(3)
    result["seconds"] = time.time() - t0
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
