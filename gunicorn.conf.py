"""gunicorn's settings for the portal, read from the working directory (`gunicorn wsgi:app` in the repo).

Metrics from several workers: prometheus-client keeps each worker's counts
in files under PROMETHEUS_MULTIPROC_DIR, and the worker that answers
/metrics adds them up. The folder is one per gunicorn (by default one per
address it binds, under <INSTANCE_PATH>/metrics, so two web nodes on one
machine keep apart), emptied when gunicorn starts; a worker that exits is
marked dead so that its gauges leave the sum (its counts stay).

The access log names no path (a status page's path holds the citizen's
tracking code) and carries the request id; the portal's own line per
request (logger "portal.access") names the route.
"""

import os
import re
import shutil

access_log_format = '%(t)s "%(m)s" %(s)s %(B)s %(M)sms request_id=%({x-request-id}o)s'
# No control socket: its one default path per user would be shared by every web node of a machine
# (supervisord, systemd or signals control gunicorn instead).
control_socket_disable = True


def on_starting(server):
    """Make (or empty) this gunicorn's metrics folder before any worker starts."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not path:
        where = re.sub(r"[^A-Za-z0-9.]+", "_", "-".join(str(b) for b in server.cfg.bind))
        path = os.path.join(os.environ.get("INSTANCE_PATH") or "instance", "metrics", f"gunicorn-{where}")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = path  # the workers inherit it
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700, exist_ok=True)


def child_exit(server, worker):
    """A worker ended (crashed, restarted, or stopped): its live gauges no longer count."""
    from prometheus_client import multiprocess  # imported here: after on_starting has set the folder

    multiprocess.mark_process_dead(worker.pid)
