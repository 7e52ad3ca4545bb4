"""The Basma gRPC service: thin servicers over ``matcher``'s public API.

``app`` builds and runs the service (``python -m server``); ``biometrics`` is the servicer;
``core`` the store + gallery work behind it; ``convert`` maps wire messages to library values;
``interceptors`` handle auth, rate limits, request ids, metrics and access logs; ``errors`` is
the only mapping of errors to status codes; ``metrics``, ``logs``, ``config`` and ``auth`` are
what their names say; ``storage`` is the durable, encrypted template store; ``client`` is the
Python client and CLI (``python -m server.client``); ``devsetup`` and ``demo`` serve
``make run``. The stubs are generated at build time into the git-ignored ``_proto/``
(``server.protogen``) and are imported only through ``server.api``. See docs/SERVICE.md.
"""
