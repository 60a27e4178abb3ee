"""One botocore data loader for every session in the process.

In Lambda a container makes its session and clients once. The embedded world starts every function afresh
in every world, and each new botocore session reads the service models from disk again: about 35 ms per
client, a third of the test suite's time. Sessions here share one loader, whose caches then serve every
client after the first of its service (about 5 ms). Nothing else is shared: credentials, regions, config
and event handlers stay per session.

`Session._register_data_loader` is botocore's own hook for this; if a botocore release renames it, sessions
keep their own loaders (slower, never wrong).
"""

from __future__ import annotations

from typing import Any

import botocore.loaders
import botocore.session

_MARK = "_warden_shared_loader"


def install() -> None:
    session_class: Any = botocore.session.Session
    if getattr(session_class, _MARK, False) or not hasattr(session_class, "_register_data_loader"):
        return
    shared = botocore.loaders.create_loader()

    def register_shared_loader(self: Any) -> None:
        self._components.lazy_register_component("data_loader", lambda: shared)

    session_class._register_data_loader = register_shared_loader
    setattr(session_class, _MARK, True)
