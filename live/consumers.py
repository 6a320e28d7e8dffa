"""`/ws/calls`: live call and campaign updates for anyone who may view.

Authentication: the session cookie (AuthMiddlewareStack), or `Authorization: Bearer <api key>` on the
upgrade request. Anything else is accepted and then closed with 4401 (a close code needs an accepted
socket); a signed-in user without a role gets 4403, and so does a session-authenticated upgrade from
another origin than the site's own or a trusted one (scheme, host and port compared: live/origins.py).
Optional filters in the query string: `agent_id`, `campaign_id`, `call_id`.

A socket lives no longer than its credentials (live/principals.py): revoking its key, signing its session
out, deactivating its user or changing the user's role closes it within moments with 4401 (a notice on
the channel layer reaches every process's hub), and each hub re-checks its sockets' principals every
PRINCIPAL_RECHECK_SECONDS (4401, or 4403 for a user left without a role that may view).

Messages (text frames, JSON):
    {"type": "call.updated", "call": {…the call object, as GET /v1/calls/{id}…}}
    {"type": "campaign.updated", "campaign": {"id", "name", "agent_id", "status", "counts": {…}, "updated_at"}}
    {"type": "transcript.segment", "call_id": …, "segment": {"speaker", "start", "end", "text", "confidence"}}
    {"type": "batch", "messages": [<either of the above>, …]}
A frame carries one message, or, when several arrive within one short window, a batch of them in the
order they happened; every update is kept. A client that falls too far behind is closed with 4408 and
should reconnect and resynchronize.

When the channel layer is unreachable (Redis down or restarting), updates are lost until it is back, so a
silent open socket would leave its page stale: the hub notices (its receive fails at once when Redis goes
away; a renewal of its group membership every LAYER_CHECK_SECONDS catches a Redis that hangs while no
event flows), closes every socket with 4503 and stops; a socket that connects while the layer is still
down is closed with 4503 at once. The next socket to connect once Redis answers starts the hub afresh.

Fan-out: each web process runs one Hub per event loop. The hub, not each connection, is the member of the
channel-layer group, so a broadcast costs one Redis message per process; it receives the already
serialized JSON text (live/publisher.py) and sends it to its own connections, at most one frame per
connection per window, the window growing with the number of connections (a frame budget per process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.contrib.auth.models import AnonymousUser
from django.db import DatabaseError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeout

from live.origins import origin_allowed
from live.principals import (
    CHECK,
    CLOSE,
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    Principal,
    may_view,
    principals_check,
)
from live.publisher import LIVE_GROUP, PRINCIPALS_MESSAGE_TYPE
from wordcab_admin.kernel.accounts import ApiKey, api_key_authenticate
from wordcab_admin.kernel.fastpath.layer_receive import receive_many
from wordcab_admin.kernel.roles import Role, role_of

logger = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4408
CLOSE_LAYER_LOST = 4503  # the live feed lost its channel layer (Redis): reconnect and resync

MIN_WINDOW_SECONDS = 0.01  # at most 100 frames per second per connection
MAX_WINDOW_SECONDS = 0.2
FRAME_BUDGET_PER_SECOND = 2500  # frames one process sends comfortably beside its other work
# How often a hub renews its group membership (channels-redis drops a member after its group_expiry, a
# restarted Redis forgot it), which doubles as the check that Redis still answers when no event flows: one
# small write per process every few seconds, nothing on the fan-out's path.
LAYER_CHECK_SECONDS = 2.0
LAYER_TIMEOUT_SECONDS = 3.0  # a layer call (join, renewal, leave) that takes longer counts as Redis down
LAYER_RETRY_SECONDS = 1.0  # after a failed join, sockets are refused at once for this long (a hung Redis)
MAX_BACKLOG = 5000  # messages waiting for one slow connection before it is told to resync
PRINCIPAL_RECHECK_SECONDS = 5.0  # how often a hub re-validates its sockets' principals from the database
FILTERS = ("agent_id", "campaign_id", "call_id")


class Subscriber:
    """One websocket connection as the hub sees it: who watches (its principal), its filters and its send
    queue."""

    __slots__ = (
        "backlog",
        "busy",
        "close_code",
        "closed",
        "filters",
        "hub",
        "key",
        "opened",
        "principal",
        "send",
        "__weakref__",
    )

    def __init__(self, hub: Hub, send, filters: dict[str, str], principal: Principal) -> None:
        self.hub = hub
        self.send = send
        self.filters = filters
        self.principal = principal
        self.key = tuple(sorted(filters.items()))
        self.backlog: list[str] = []
        self.busy = False
        self.closed = False
        self.opened = False  # accepted: until then a close is left to the consumer (see accepted())
        self.close_code: int | None = None

    def wants(self, event: dict) -> bool:
        return all(event.get(name) == value for name, value in self.filters.items())

    def deliver(self, texts: list[str], frame: str) -> None:
        if self.busy:  # the previous frame is still being written: keep order, send it all next
            self.backlog.extend(texts)
            if len(self.backlog) > MAX_BACKLOG:
                self.close(CLOSE_TOO_SLOW)
            return
        self.busy = True
        self.hub.loop.create_task(self._write(frame))

    async def _write(self, frame: str) -> None:
        try:
            await self.send({"type": "websocket.send", "text": frame})
            while self.backlog and not self.closed:
                texts, self.backlog = self.backlog, []
                await self.send({"type": "websocket.send", "text": frame_text(texts)})
        except (OSError, RuntimeError):  # the client went away mid-send; disconnect() cleans up
            self.backlog.clear()
        finally:
            self.busy = False

    def close(self, code: int) -> None:
        """Stop feeding this connection at once (nothing more is sent, not even its backlog) and close it."""
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        self.backlog.clear()
        self.hub.leave(self)
        if self.opened:  # a close sent before the accept would turn the accept into an error
            self.hub.loop.create_task(self._close(code))

    def accepted(self) -> int | None:
        """The consumer has accepted the socket: the close code it must send now if the hub closed this
        subscriber meanwhile (between joining and the accept), else None."""
        self.opened = True
        return self.close_code

    async def _close(self, code: int) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            await self.send({"type": "websocket.close", "code": code})


def frame_text(texts: list[str]) -> str:
    """One message as itself; several as a batch, built from the ready JSON texts without re-encoding."""
    if len(texts) == 1:
        return texts[0]
    return '{"type":"batch","messages":[' + ",".join(texts) + "]}"


class ChannelLayerUnavailable(Exception):
    """The hub could not join the live group: the channel layer (Redis) is down or does not answer."""


class Hub:
    """The per-process (per event loop) member of the live group; fans events out to subscribers.

    It runs while anyone watches: a receiver task, a keep-alive that renews the group membership (and so
    notices a Redis that stopped answering) and the principals' re-check. When the layer is lost, the hub
    closes its sockets with 4503 and stops those tasks (layer_lost); the next join starts them afresh."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.subscribers: set[Subscriber] = set()
        self.pending: list[dict] = []
        self.flush_handle: asyncio.Handle | None = None
        self.last_flush = 0.0
        self.flush_due = 0.0
        self.lag = 0.0
        self.channel_name: str | None = None
        self.receiver: asyncio.Task | None = None
        self.refresher: asyncio.Task | None = None
        self.rechecker: asyncio.Task | None = None
        self.lock = asyncio.Lock()
        self.frames_sent = 0
        self.layer_up = True  # as last seen: outages and recoveries are logged once, not per socket
        self.refuse_until = 0.0  # loop time before which a join fails at once (a join just failed)
        self.stale_channels: list[str] = []  # members of the group left behind by an outage
        self.forgetting: asyncio.Task | None = None  # removing them, once Redis answers again

    async def join(self, subscriber: Subscriber) -> None:
        """Add a subscriber, starting the hub's tasks first if it is stopped. Raises
        ChannelLayerUnavailable when that needs Redis and Redis does not answer."""
        async with self.lock:
            if self.receiver is None:
                await self._start()
            self.subscribers.add(subscriber)

    async def _start(self) -> None:
        if self.loop.time() < self.refuse_until:  # a hung Redis must not hold every connect for seconds
            raise ChannelLayerUnavailable("the channel layer was unreachable a moment ago")
        layer = get_channel_layer()
        # A plain (not process-local "!") channel: the hub is its only reader, so a direct
        # BZPOPMIN suffices and none of the layer's shared per-process receive state is involved.
        channel_name = f"live.hub.{uuid.uuid4().hex}"
        try:
            await asyncio.wait_for(layer.group_add(LIVE_GROUP, channel_name), LAYER_TIMEOUT_SECONDS)
        except (TimeoutError, OSError, RedisError) as exc:
            if isinstance(exc, TimeoutError):  # it may have been applied: leave the group once Redis answers
                self.stale_channels = [*self.stale_channels[-99:], channel_name]  # bounded in a long hang
            self.refuse_until = self.loop.time() + LAYER_RETRY_SECONDS
            self._layer_down(exc)
            raise ChannelLayerUnavailable(str(exc)) from exc
        if not self.layer_up:
            logger.warning("live hub: the channel layer answers again; live updates resume")
            self.layer_up = True
        self.channel_name = channel_name
        self._start_receiver(layer, channel_name)
        self.refresher = self.loop.create_task(self._keep_membership(layer, channel_name))
        self.rechecker = self.loop.create_task(self._recheck_forever())
        if self.stale_channels:
            stale, self.stale_channels = self.stale_channels, []
            self.forgetting = self.loop.create_task(self._forget(layer, stale))

    def leave(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def leave_and_maybe_stop(self, subscriber: Subscriber) -> None:
        self.leave(subscriber)
        async with self.lock:
            if self.subscribers or self.receiver is None:
                return
            channel_name = self.channel_name
            self._stop_tasks()
            await self._forget(get_channel_layer(), [channel_name])

    def _stop_tasks(self) -> None:
        """Cancel the receiver, keep-alive and re-check (but not the task calling this) and forget the
        channel, so that the next join starts afresh."""
        tasks = (self.receiver, self.refresher, self.rechecker)
        self.receiver = self.refresher = self.rechecker = self.channel_name = None
        current = asyncio.current_task()
        for task in tasks:
            if task is not None and task is not current:
                task.cancel()

    async def _forget(self, layer, channel_names: list[str]) -> None:
        """Leave the group with channels no longer read, so that broadcasts stop filling them. Best
        effort: a restarted Redis forgot them anyway, and channels-redis expires a member after a day."""
        for channel_name in channel_names:
            try:
                await asyncio.wait_for(layer.group_discard(LIVE_GROUP, channel_name), LAYER_TIMEOUT_SECONDS)
            except (TimeoutError, OSError, RedisError) as exc:
                logger.info("live hub: could not leave the group with %s: %s", channel_name, exc)

    def layer_lost(self, exc: BaseException) -> None:
        """The channel layer failed under a running hub: the updates meanwhile are lost, so every socket is
        told to reconnect and resync (4503), and the hub stops; the next join starts it afresh, with a
        new channel (or, while Redis is still down, refuses with 4503 too)."""
        if self.receiver is None:  # already stopped (the receiver and the keep-alive both noticed)
            return
        self.stale_channels.append(self.channel_name)
        self._stop_tasks()
        if self.flush_handle is not None:  # what was waiting for a frame is in the pages' resync
            self.flush_handle.cancel()
            self.flush_handle = None
        self.pending = []
        watchers = list(self.subscribers)
        self._layer_down(exc, watchers=len(watchers))
        for subscriber in watchers:
            subscriber.close(CLOSE_LAYER_LOST)

    def _layer_down(self, exc: BaseException, watchers: int = 0) -> None:
        if self.layer_up:
            logger.warning(
                "live hub: the channel layer is unreachable (%s: %s): %d open socket(s) closed with %d; new "
                "ones get it too until the layer answers",
                type(exc).__name__,
                str(exc) or "no answer in time",
                watchers,
                CLOSE_LAYER_LOST,
            )
            self.layer_up = False

    def _start_receiver(self, layer, channel_name: str) -> None:
        self.receiver = self.loop.create_task(self._receive(layer, channel_name))
        self.receiver.add_done_callback(lambda task: self._receiver_ended(task, layer, channel_name))

    def _receiver_ended(self, task: asyncio.Task, layer, channel_name: str) -> None:
        """A receiver that died of something unforeseen is logged and restarted while anyone watches."""
        if task.cancelled() or task is not self.receiver:
            return
        logger.error("live hub: receiver stopped; restarting it", exc_info=task.exception())
        if self.subscribers:
            self._start_receiver(layer, channel_name)

    async def _keep_membership(self, layer, channel_name: str) -> None:
        """Renew the group membership every LAYER_CHECK_SECONDS. The receiver notices a Redis that closed
        its connection at once, but not one that hangs or is cut off while nothing is published: this
        does, within LAYER_CHECK_SECONDS + LAYER_TIMEOUT_SECONDS."""
        while True:
            await asyncio.sleep(LAYER_CHECK_SECONDS)
            try:
                await asyncio.wait_for(layer.group_add(LIVE_GROUP, channel_name), LAYER_TIMEOUT_SECONDS)
            except (TimeoutError, OSError, RedisError) as exc:
                self.layer_lost(exc)
                return

    async def _receive(self, layer, channel_name: str) -> None:
        while True:
            try:
                messages = await receive_many(layer, channel_name)
            except RedisTimeout:  # an idle blocking pop that outlived the socket timeout: the keep-alive
                continue  # tells a hung Redis from a slow answer
            except (OSError, RedisError) as exc:  # Redis went away: updates are being lost from now on
                self.layer_lost(exc)
                return
            for message in messages:
                if message.get("type") == PRINCIPALS_MESSAGE_TYPE:
                    self.principals_notified(message.get("events") or ())
                else:
                    self.pending.extend(message.get("events") or ())
            if self.pending:
                self._schedule_flush()

    def principals_notified(self, notices) -> None:
        """A principal's credentials ended somewhere (live/principals.py): close its sockets here, or re-check
        them now. Rare, so a scan of the subscribers is fine."""
        for notice in notices:
            matching = [s for s in self.subscribers if s.principal.matches(notice)]
            if not matching:
                continue
            if notice.get("action") == CLOSE:
                for subscriber in matching:
                    subscriber.close(CLOSE_UNAUTHENTICATED)
            elif notice.get("action") == CHECK:
                self.loop.create_task(self.recheck(matching))

    async def _recheck_forever(self) -> None:
        """Every PRINCIPAL_RECHECK_SECONDS, re-validate the principal of every socket of this hub, in one
        batch of queries: this catches what no notice announces (a session deleted or expired, a bulk
        UPDATE, a notice lost while Redis was away). The fan-out itself does no database work."""
        while True:
            await asyncio.sleep(PRINCIPAL_RECHECK_SECONDS)
            await self.recheck(list(self.subscribers))

    async def recheck(self, subscribers: list[Subscriber]) -> None:
        principals = {s.principal for s in subscribers if not s.closed}
        if not principals:
            return
        try:
            verdicts = await database_sync_to_async(principals_check, thread_sensitive=False)(principals)
        except DatabaseError as exc:  # the database is away: keep watching, and ask again next time
            logger.warning("live hub: could not re-check the watchers' credentials: %s", exc)
            return
        except Exception:  # a bug must not end the re-checks for good: log it loudly, try again next time
            logger.exception("live hub: re-checking the watchers' credentials failed")
            return
        for subscriber in subscribers:
            code = verdicts.get(subscriber.principal)
            if code is not None and subscriber in self.subscribers:
                subscriber.close(code)

    def window(self) -> float:
        """How long updates gather before a frame goes out: more connections or a lagging event loop (a busy
        process) mean fewer, fuller frames, so the process keeps up instead of queueing."""
        wanted = len(self.subscribers) / FRAME_BUDGET_PER_SECOND + 2 * self.lag
        return min(MAX_WINDOW_SECONDS, max(MIN_WINDOW_SECONDS, wanted))

    def _schedule_flush(self) -> None:
        if self.flush_handle is not None:
            return
        delay = max(0.0, self.last_flush + self.window() - self.loop.time())
        self.flush_due = self.loop.time() + delay
        self.flush_handle = self.loop.call_later(delay, self.flush)

    def flush(self) -> None:
        now = self.loop.time()
        self.lag = 0.8 * self.lag + 0.2 * max(0.0, now - self.flush_due)  # smoothed event-loop lag
        self.flush_handle = None
        self.last_flush = now
        events, self.pending = self.pending, []
        if not events:
            return
        prepared: dict[tuple, tuple[list[str], str] | None] = {}
        for subscriber in list(self.subscribers):
            if subscriber.key not in prepared:  # subscribers with the same filters share one frame text
                texts = [e["text"] for e in events if subscriber.wants(e)]
                prepared[subscriber.key] = (texts, frame_text(texts)) if texts else None
            ready = prepared[subscriber.key]
            if ready is not None:
                subscriber.deliver(*ready)
                self.frames_sent += 1


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def hub_for_this_loop() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    return hub


def bearer_token(scope: dict) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


@database_sync_to_async
def _key_for(raw: str) -> ApiKey | None:
    return api_key_authenticate(raw)


@database_sync_to_async
def _role_of(user) -> Role | None:
    return role_of(user)


class CallsConsumer(AsyncWebsocketConsumer):
    channel_layer_alias = "live-hub-only"  # no per-connection layer channel: the process hub fans out

    subscriber: Subscriber | None = None

    async def connect(self) -> None:
        token = bearer_token(self.scope)
        api_key_id = session_key = None
        if token is not None:
            key = await _key_for(token)
            user, api_key_id = (key.user, key.pk) if key else (None, None)
            via_session = False
        else:
            user = self.scope.get("user") or AnonymousUser()
            session_key = getattr(self.scope.get("session"), "session_key", None)
            via_session = True
        if user is None or not user.is_authenticated:
            await self.refuse(CLOSE_UNAUTHENTICATED)
            return
        if via_session and not origin_allowed(self.scope):
            await self.refuse(CLOSE_FORBIDDEN)
            return
        role = await _role_of(user)
        if not may_view(role):
            await self.refuse(CLOSE_FORBIDDEN)
            return
        # Who watches, as the hub re-checks it and as notices of ended credentials name it.
        principal = Principal(user_id=user.pk, api_key_id=api_key_id, session_key=session_key, role=role)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        filters = {name: query[name][0] for name in FILTERS if query.get(name) and query[name][0]}
        hub = hub_for_this_loop()
        subscriber = Subscriber(hub, self.base_send, filters, principal)
        try:
            # Subscribed before the client sees the socket open, so that it may resynchronize then.
            await hub.join(subscriber)
        except ChannelLayerUnavailable:  # logged by the hub, once per outage
            await self.refuse(CLOSE_LAYER_LOST)  # the page retries with backoff, then resyncs
            return
        self.subscriber = subscriber
        await self.accept()
        closed_meanwhile = subscriber.accepted()
        if closed_meanwhile is not None:  # the layer was lost (or the key revoked) while accepting
            await self.close(code=closed_meanwhile)

    async def refuse(self, code: int) -> None:
        await self.accept()  # a close code needs an accepted socket
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.subscriber is not None:
            await self.subscriber.hub.leave_and_maybe_stop(self.subscriber)
            self.subscriber = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Clients only listen; anything they send is ignored."""
