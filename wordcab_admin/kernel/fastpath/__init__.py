"""The framework workarounds the benchmarks need: the index of every one, here and elsewhere.

Each one's docstring says which benchmark justifies it (`make bench BENCH=<name>`, the file being
tests/bench/bench_<name>.py), what public API it would use otherwise and which private APIs it leans on;
tests/core/test_fastpath.py pins those private APIs, so that an upgrade changing one fails naming the module.

- async_middleware.py: status_callbacks. Stock middleware hooks on the event loop; deploy checks patched.
- static_files.py: status_callbacks. WhiteNoise's middleware, async-capable so the chain stays async.
- db_threads.py: status_callbacks. Long-lived database threads applying status callbacks in batches.
- calls/lifecycle_sql.py: status_callbacks. The lifecycle's hand-written batch SQL (it names app models).
- layer_publisher.py: live. One publisher thread and event loop per process, sending to a Channels group.
- layer_receive.py: live. receive_many: all that waits on a channels-redis channel, in one round trip.
- wordcab_admin/asgi.py, freeze_startup_heap: live. Every view imported, then gc.freeze().
- bulk_insert.py: campaign_import. Rows of plain tuples inserted by COPY on PostgreSQL (executemany elsewhere).
- campaigns/number_checks.py, number_verdict: campaign_import. One validation a number, not two, where
  phonenumbers' region lookup has already validated it (its algorithm, public names only; pinned by
  tests/campaigns/test_number_checks.py against agents.phone.normalize_e164).
- asgi_streaming.py: no benchmark (memory and first byte, not speed). Responses that stream under ASGI.
- channels_consumer.py: media. A consumer without a channel layer taking messages one by one (no task per
  message), its hot sends handed to the server's own send under the session middleware; pinned by
  tests/core/test_fastpath_media.py. The media streams' stream starts also use db_threads.py
  (telephony/media/session.py streams_begin)."""
