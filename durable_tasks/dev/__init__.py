"""The development stack: local servers from the pip-installed binaries, the SMTP sink, the demo.

`durable-tasks dev` (`make run`) runs `run_dev_stack`: a Temporal dev server and PocketBase on
loopback, the SMTP sink the email example delivers to, and a worker. The server starters are
also what the test fixtures (`durable_tasks.testing`) use. Nothing here is needed in production.
"""

from durable_tasks.dev._credentials import Credentials, superuser_credentials
from durable_tasks.dev._demo import run_demo
from durable_tasks.dev._pocketbase_server import (
    PocketBaseProcess,
    PocketBaseStartError,
    pocketbase_binary,
    project_pb_dirs,
    project_public_dir,
    start_pocketbase,
)
from durable_tasks.dev._ports import free_port
from durable_tasks.dev._smtp_sink import SmtpSink, start_smtp_sink
from durable_tasks.dev._stack import DevServerError, DevStackConfig, check_ports_free, run_dev_stack
from durable_tasks.dev._temporal_server import TemporalDevServer

__all__ = [
    "Credentials",
    "DevServerError",
    "DevStackConfig",
    "PocketBaseProcess",
    "PocketBaseStartError",
    "SmtpSink",
    "TemporalDevServer",
    "check_ports_free",
    "free_port",
    "pocketbase_binary",
    "project_pb_dirs",
    "project_public_dir",
    "run_demo",
    "run_dev_stack",
    "start_pocketbase",
    "start_smtp_sink",
    "superuser_credentials",
]
