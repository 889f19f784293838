"""The bus over NATS JetStream.

One file-storage stream (``SAFECITY`` by default) captures every ``safecity.>``
subject. A publish carries ``Nats-Msg-Id`` = ``message_id`` and returns only
when JetStream has acknowledged it, i.e. stored it; a retried publish inside the
duplicate window is stored once, so retrying after a lost acknowledgement is
safe. Each subscription is a durable pull consumer filtered on one message
type. The connection is re-established forever with a capped exponential
backoff, because the broker may restart under us; while it is away, publishes
wait (up to ``publish_timeout_seconds``, then raise) and consumers idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import nats.errors
import nats.js.errors
from nats.aio.client import Client, Server
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from safecity.bus._consumer import (
    ConsumerSpec,
    Decision,
    Delivery,
    LoopSubscription,
    Verdict,
    logger,
)
from safecity.bus.errors import BusError, BusUnavailable
from safecity.bus.interface import BatchHandler, M, Subscription
from safecity.contracts.base import SUBJECT_PREFIX, Message
from safecity.core.logging import scrub_credentials

_API_TIMEOUT_SECONDS = 5.0
_PUBLISH_ATTEMPT_SECONDS = 5.0
_FIRST_RECONNECT_DELAY_SECONDS = 0.05
_FETCH_FAULT_PAUSE_SECONDS = 0.5
# Older servers (2.9) answer a pull on a deleted consumer with silence, not an
# error: an idle consumer re-checks that it still exists this often.
_IDLE_CHECK_SECONDS = 30.0
_CLOSE_FLUSH_SECONDS = 2
_JS_ACK_PREFIX = "$JS.ACK."

# Worth another attempt with the same Nats-Msg-Id: the broker is away, restarting,
# or has not answered yet. Anything else (too large, refused) is raised at once.
_TRANSIENT_PUBLISH_ERRORS: tuple[type[BaseException], ...] = (
    TimeoutError,
    OSError,
    nats.js.errors.NoStreamResponseError,
    nats.js.errors.ServiceUnavailableError,
    nats.errors.NoRespondersError,
    nats.errors.OutboundBufferLimitError,
    nats.errors.ConnectionReconnectingError,
    nats.errors.StaleConnectionError,
)


class NatsBus:
    """A ``Bus`` on NATS JetStream. Create it with :meth:`connect`, not the constructor."""

    def __init__(
        self,
        *,
        display_url: str,
        stream: str,
        duplicate_window_seconds: float,
        max_age_seconds: float,
        publish_timeout_seconds: float,
        fetch_wait_seconds: float,
        fetch_batch: int,
        max_reconnect_delay_seconds: float,
    ) -> None:
        self._display_url = display_url
        self._stream = stream
        self._duplicate_window = duplicate_window_seconds
        self._max_age = max_age_seconds
        self._publish_timeout = publish_timeout_seconds
        self._fetch_wait = fetch_wait_seconds
        self._fetch_batch = fetch_batch
        self._max_reconnect_delay = max_reconnect_delay_seconds
        self._nc = Client()
        self._js_context: JetStreamContext | None = None
        self._connected = asyncio.Event()
        self._subscriptions: set[_NatsSubscription[Any]] = set()
        self._recovery: asyncio.Task[None] | None = None
        self._closed = False
        self._outage_started: float | None = None
        self._last_error: Exception | None = None

    @classmethod
    async def connect(
        cls,
        url: str,
        *,
        stream: str = "SAFECITY",
        name: str = "safecity",
        duplicate_window_seconds: float = 120.0,
        max_age_seconds: float = 7 * 24 * 3600.0,
        connect_wait_seconds: float = 30.0,
        publish_timeout_seconds: float = 30.0,
        fetch_wait_seconds: float = 1.0,
        fetch_batch: int = 16,
        max_reconnect_delay_seconds: float = 5.0,
    ) -> NatsBus:
        """Connect to ``url`` (comma-separated for a cluster) and create or update the stream.

        Raises BusUnavailable when no server answers within ``connect_wait_seconds``;
        after that first connection, reconnection never gives up.
        ``max_age_seconds`` only applies when this call creates the stream: a
        consumer down for longer than that misses the oldest messages.
        """
        servers = [part.strip() for part in url.split(",") if part.strip()]
        if not servers:
            raise ValueError("the NATS url is empty")
        if not 0 < duplicate_window_seconds <= max_age_seconds:
            raise ValueError(
                "duplicate_window_seconds must be positive and at most max_age_seconds"
            )
        if fetch_batch < 1 or fetch_wait_seconds <= 0 or publish_timeout_seconds <= 0:
            raise ValueError(
                "fetch_batch, fetch_wait_seconds and publish_timeout_seconds must be > 0"
            )
        bus = cls(
            display_url=scrub_credentials(url),
            stream=stream,
            duplicate_window_seconds=duplicate_window_seconds,
            max_age_seconds=max_age_seconds,
            publish_timeout_seconds=publish_timeout_seconds,
            fetch_wait_seconds=fetch_wait_seconds,
            fetch_batch=fetch_batch,
            max_reconnect_delay_seconds=max_reconnect_delay_seconds,
        )
        await bus._open(servers, name=name, connect_wait_seconds=connect_wait_seconds)
        return bus

    @property
    def stream(self) -> str:
        return self._stream

    @property
    def is_connected(self) -> bool:
        return bool(self._nc.is_connected)

    @property
    def _js(self) -> JetStreamContext:
        if self._js_context is None:
            raise BusError("the bus is not connected")
        return self._js_context

    async def publish(self, message: Message) -> None:
        self._check_open()
        envelope = message.encode()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._publish_timeout
        pause = _FIRST_RECONNECT_DELAY_SECONDS
        last_error: BaseException | None = None
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise BusUnavailable(
                    f"JetStream did not acknowledge the {envelope.subject} message "
                    f"{message.message_id} within {self._publish_timeout:.0f} s "
                    f"(last error: {last_error!r})"
                ) from last_error
            if self._nc.is_closed:
                raise BusError("the bus connection is closed")
            if not self.is_connected:
                await self._wait_connected(remaining)
                continue
            # JetStream publish adds its own headers to the dict it is given.
            headers = {**envelope.headers, "Nats-Msg-Id": message.message_id}
            try:
                ack = await self._js.publish(
                    envelope.subject,
                    envelope.data,
                    timeout=min(remaining, _PUBLISH_ATTEMPT_SECONDS),
                    stream=self._stream,
                    headers=headers,
                )
            except nats.errors.ConnectionClosedError as exc:
                raise BusError("the bus connection is closed") from exc
            except _TRANSIENT_PUBLISH_ERRORS as exc:
                last_error = exc
                if isinstance(exc, nats.js.errors.NoStreamResponseError):
                    # Either JetStream is still recovering or the broker came back
                    # without our stream: recreate it if it is really gone.
                    await self._try_ensure_stream()
            except nats.errors.Error as exc:
                raise BusError(
                    f"JetStream refused the {envelope.subject} message {message.message_id}: {exc}"
                ) from exc
            else:
                if ack.duplicate:
                    logger.debug("message %s was already stored", message.message_id)
                return
            await asyncio.sleep(min(pause, max(0.0, deadline - loop.time())))
            pause = min(pause * 2, 1.0)

    async def subscribe(
        self,
        model: type[M],
        *,
        durable: str,
        handler: Callable[[M], Awaitable[None]],
        ack_wait_seconds: float = 30,
        key: str | None = None,
    ) -> Subscription:
        self._check_open()
        return await self._start(
            ConsumerSpec.one_at_a_time(
                model, durable=durable, handler=handler, ack_wait_seconds=ack_wait_seconds, key=key
            )
        )

    async def subscribe_batch(
        self,
        model: type[M],
        *,
        durable: str,
        handler: BatchHandler[M],
        max_batch: int = 64,
        ack_wait_seconds: float = 30,
        key: str | None = None,
    ) -> Subscription:
        self._check_open()
        return await self._start(
            ConsumerSpec.batched(
                model,
                durable=durable,
                handler=handler,
                max_batch=max_batch,
                ack_wait_seconds=ack_wait_seconds,
                key=key,
            )
        )

    async def _start(self, spec: ConsumerSpec[M]) -> Subscription:
        subscription = _NatsSubscription(self, spec)
        await subscription.attach()
        self._subscriptions.add(subscription)
        subscription.start()
        return subscription

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for subscription in list(self._subscriptions):
            await subscription.stop()
        if self._recovery is not None and not self._recovery.done():
            self._recovery.cancel()
            await asyncio.wait({self._recovery})
        if self.is_connected:
            # Acknowledgements are written lazily; a lost one means a second delivery.
            try:
                await self._nc.flush(timeout=_CLOSE_FLUSH_SECONDS)
            except (nats.errors.Error, TimeoutError) as exc:
                logger.warning("could not flush the NATS connection before closing: %s", exc)
        await self._nc.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    # -- connection -----------------------------------------------------------------------

    async def _open(self, servers: list[str], *, name: str, connect_wait_seconds: float) -> None:
        try:
            await asyncio.wait_for(
                self._nc.connect(
                    servers=servers,
                    name=name,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    # Spacing of first-connection attempts; later ones use _choose_server.
                    reconnect_time_wait=1,
                    connect_timeout=2,
                    reconnect_to_server_handler=self._choose_server,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                ),
                timeout=connect_wait_seconds,
            )
        except TimeoutError as exc:
            await self._nc.close()
            raise BusUnavailable(
                f"no NATS server answered at {self._display_url} within "
                f"{connect_wait_seconds:.0f} s "
                f"(last error: {scrub_credentials(repr(self._last_error))})"
            ) from exc
        self._js_context = self._nc.jetstream(timeout=_API_TIMEOUT_SECONDS)
        self._connected.set()
        try:
            await self._ensure_stream()
        except BaseException:
            await self._nc.close()
            raise
        logger.info("connected to NATS at %s (stream %s)", self._display_url, self._stream)

    def _choose_server(
        self, servers: list[Server], server_info: dict[str, Any]
    ) -> tuple[Server | None, float]:
        if not servers:
            return None, _FIRST_RECONNECT_DELAY_SECONDS
        # The least-tried server first, so a cluster is walked rather than one node hammered.
        target = min(servers, key=lambda server: server.reconnects)
        delay = min(
            _FIRST_RECONNECT_DELAY_SECONDS * 2 ** min(target.reconnects, 16),
            self._max_reconnect_delay,
        )
        # Jitter spreads many workers reconnecting to one restarted broker.
        return target, delay * random.uniform(0.75, 1.0)  # noqa: S311 - not security

    async def _on_error(self, exc: Exception) -> None:
        self._last_error = exc
        if self._outage_started is not None or not self._nc.is_connected:
            logger.debug("NATS connection attempt failed: %s", exc)
        else:
            logger.warning("NATS error: %s", scrub_credentials(str(exc)))

    async def _on_disconnected(self) -> None:
        self._connected.clear()
        if self._closed:
            return
        self._outage_started = asyncio.get_running_loop().time()
        logger.warning("lost the NATS connection to %s; reconnecting", self._display_url)

    async def _on_reconnected(self) -> None:
        self._connected.set()
        if self._outage_started is not None:
            outage = asyncio.get_running_loop().time() - self._outage_started
            logger.info("reconnected to NATS after %.1f s", outage)
        self._outage_started = None
        if self._closed:
            return
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._recover(), name="safecity-bus-recover")

    async def _recover(self) -> None:
        # The broker may have come back without its state (a new node, a wiped
        # disk): make sure the stream exists, then let each consumer check its own.
        pause = _FIRST_RECONNECT_DELAY_SECONDS
        while not self._closed:
            try:
                await self._ensure_stream()
                break
            except BusError as exc:
                logger.warning("after reconnecting: %s; retrying", exc)
                await asyncio.sleep(pause)
                pause = min(pause * 2, self._max_reconnect_delay)
        for subscription in list(self._subscriptions):
            subscription.request_check()

    async def _wait_connected(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._connected.wait()

    def _check_open(self) -> None:
        if self._closed:
            raise BusError("the bus is closed")

    # -- stream and consumers -------------------------------------------------------------

    async def _ensure_stream(self) -> None:
        wanted = f"{SUBJECT_PREFIX}.>"
        try:
            info = await self._stream_info()
            if info is None:
                try:
                    await self._js.add_stream(
                        StreamConfig(
                            name=self._stream,
                            description="safecity bus messages",
                            subjects=[wanted],
                            retention=RetentionPolicy.LIMITS,
                            storage=StorageType.FILE,
                            discard=DiscardPolicy.OLD,
                            max_age=self._max_age,
                            duplicate_window=self._duplicate_window,
                        )
                    )
                    return
                except nats.js.errors.APIError:
                    # Another process may have created it a moment ago.
                    info = await self._stream_info()
                    if info is None:
                        raise
            config = info.config
            if config.storage != StorageType.FILE:
                raise BusError(
                    f"stream {self._stream} keeps messages in {config.storage}; the bus needs "
                    "file storage so that acknowledged messages survive a broker restart"
                )
            updates: dict[str, Any] = {}
            subjects = list(config.subjects or [])
            if wanted not in subjects:
                updates["subjects"] = [*subjects, wanted]
            if (config.duplicate_window or 0) < self._duplicate_window:
                updates["duplicate_window"] = self._duplicate_window
            if updates:
                await self._js.update_stream(config.evolve(**updates))
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusError(f"cannot set up JetStream stream {self._stream}: {exc!r}") from exc

    async def _stream_info(self) -> Any:
        try:
            return await self._js.stream_info(self._stream)
        except nats.js.errors.NotFoundError:
            return None

    async def _try_ensure_stream(self) -> None:
        try:
            await self._ensure_stream()
        except BusError as exc:
            logger.debug("stream check failed: %s", exc)

    async def _ensure_consumer(
        self, durable: str, subject: str, ack_wait_seconds: float, model: type[Message]
    ) -> None:
        config = ConsumerConfig(
            name=durable,
            durable_name=durable,
            description=f"safecity {model.__name__} v{model.schema_version}",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=ack_wait_seconds,
            max_deliver=-1,
            filter_subject=subject,
        )
        try:
            try:
                info = await self._js.consumer_info(self._stream, durable)
            except nats.js.errors.NotFoundError:
                info = None
            if info is not None:
                current = info.config
                # A type that became routed by key keeps its consumers (and their place):
                # the exact filter widens to every key, which the server updates in place.
                widened = subject == f"{current.filter_subject}.>"
                if current.filter_subject != subject and not widened:
                    raise BusError(
                        f"durable consumer {durable!r} already reads {current.filter_subject}, "
                        f"not {subject}; give this subscription its own durable name"
                    )
                if current.ack_policy != AckPolicy.EXPLICIT:
                    raise BusError(f"durable consumer {durable!r} does not use explicit acks")
                same_wait = current.ack_wait is not None and (
                    abs(current.ack_wait - ack_wait_seconds) < 1e-3
                )
                if same_wait and not widened:
                    return
            await self._js.add_consumer(self._stream, config)
        except (nats.errors.Error, TimeoutError) as exc:
            raise BusError(
                f"cannot set up durable consumer {durable!r} on stream {self._stream}: {exc!r}"
            ) from exc


class _NatsSubscription(LoopSubscription[M]):
    def __init__(self, bus: NatsBus, spec: ConsumerSpec[M]) -> None:
        super().__init__(spec)
        self._bus = bus
        self._pull: JetStreamContext.PullSubscription | None = None
        self._needs_check = False
        self._checked_at = 0.0

    async def attach(self) -> None:
        await self._ensure_consumer()
        try:
            self._pull = await self._bus._js.pull_subscribe_bind(
                consumer=self._durable, stream=self._bus.stream
            )
        except nats.errors.Error as exc:
            raise BusError(f"cannot bind to durable consumer {self._durable!r}: {exc!r}") from exc

    def request_check(self) -> None:
        self._needs_check = True

    async def _ensure_consumer(self) -> None:
        await self._bus._ensure_consumer(self._durable, self._subject, self._ack_wait, self._model)
        self._checked_at = asyncio.get_running_loop().time()

    async def _step(self) -> None:
        if not await self._ready():
            return
        messages = await self._fetch()
        if self._batch_handler is not None and messages and not self._stopping:
            await self._handle_batch(messages)
            return
        for message in messages:
            if self._stopping:
                await self._give_back(message)
            else:
                await self._handle(message)

    async def _ready(self) -> bool:
        if not self._bus.is_connected:
            self._idle = True
            try:
                await self._bus._wait_connected(self._bus._fetch_wait)
            finally:
                self._idle = False
            return False
        if self._needs_check:
            self._needs_check = False
            try:
                await self._ensure_consumer()
            except BusError as exc:
                self._needs_check = True
                logger.warning("consumer %s: %s; retrying", self._durable, exc)
                await self._pause()
            return False
        return True

    async def _fetch(self) -> list[Msg]:
        pull = self._pull
        if pull is None:
            raise BusError(f"consumer {self._durable} is not attached")
        self._idle = True
        try:
            batch = self._max_batch if self._batch_handler is not None else self._bus._fetch_batch
            return list(await pull.fetch(batch, timeout=self._bus._fetch_wait))
        except TimeoutError:
            idle_for = asyncio.get_running_loop().time() - self._checked_at
            self._needs_check = idle_for > _IDLE_CHECK_SECONDS
            return []
        except nats.errors.ConnectionClosedError:
            if self._bus._closed:
                self._stopping = True
                return []
            raise
        except (nats.errors.Error, OSError) as exc:
            # A consumer deleted under us (a broker that lost its state) lands here.
            logger.warning(
                "consumer %s: fetch failed (%r); checking the consumer", self._durable, exc
            )
            self._needs_check = True
            await asyncio.sleep(_FETCH_FAULT_PAUSE_SECONDS)
            return []
        finally:
            self._idle = False

    async def _pause(self) -> None:
        self._idle = True
        try:
            await asyncio.sleep(_FETCH_FAULT_PAUSE_SECONDS)
        finally:
            self._idle = False

    async def _handle(self, message: Msg) -> None:
        metadata = message.metadata
        keep_alive = asyncio.create_task(self._keep_alive(message))
        try:
            decision = await self._dispatch(
                subject=message.subject,
                data=message.data,
                headers=message.headers,
                delivery=metadata.num_delivered,
                sequence=metadata.sequence.stream,
            )
        except asyncio.CancelledError:
            await self._give_back(message)
            raise
        finally:
            keep_alive.cancel()
            await asyncio.wait({keep_alive})
        await self._settle(message, decision)

    async def _handle_batch(self, messages: list[Msg]) -> None:
        keep_alive = asyncio.create_task(self._keep_alive(*messages))
        try:
            decisions = await self._dispatch_batch(
                [
                    Delivery(
                        subject=m.subject,
                        data=m.data,
                        headers=m.headers,
                        delivery=m.metadata.num_delivered,
                        sequence=m.metadata.sequence.stream,
                    )
                    for m in messages
                ]
            )
        except asyncio.CancelledError:
            for message in messages:
                await self._give_back(message)
            raise
        finally:
            keep_alive.cancel()
            await asyncio.wait({keep_alive})
        # Only now, after the handler's transaction committed: a crash before this line
        # means every message of the batch comes again, and the handler folds it in once.
        for message, decision in zip(messages, decisions, strict=True):
            await self._settle(message, decision)

    async def _settle(self, message: Msg, decision: Decision) -> None:
        metadata = message.metadata
        try:
            if decision.verdict is Verdict.ACK:
                await message.ack()
            elif decision.verdict is Verdict.RETRY:
                await message.nak(delay=decision.delay)
            else:
                await message.term()
        except nats.errors.Error as exc:
            logger.warning(
                "consumer %s: could not %s stream message %d (%r); the broker will deliver "
                "it again",
                self._durable,
                decision.verdict.value,
                metadata.sequence.stream,
                exc,
            )

    async def _keep_alive(self, *messages: Msg) -> None:
        # A slow handler tells the broker it is still working, so the messages are
        # not handed to another consumer while this one is busy with them.
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            for message in messages:
                try:
                    await message.in_progress()
                except nats.errors.Error as exc:
                    logger.debug("consumer %s: progress report failed: %r", self._durable, exc)

    async def _give_back(self, message: Msg) -> None:
        if not (message.reply or "").startswith(_JS_ACK_PREFIX):
            return  # a status message (timeout, no messages), not a delivery
        try:
            await message.nak()
        except nats.errors.Error as exc:
            logger.debug("consumer %s: could not hand back a message: %r", self._durable, exc)

    async def _release(self) -> None:
        self._bus._subscriptions.discard(self)
        pull = self._pull
        if pull is None:
            return
        # A fetch cut short by stop() may already have deliveries queued in the
        # client; handing them back now spares them a wait of ack_wait.
        queue = getattr(getattr(pull, "_sub", None), "_pending_queue", None)
        if isinstance(queue, asyncio.Queue):
            while not queue.empty():
                await self._give_back(queue.get_nowait())
        try:
            await pull.unsubscribe()
        except nats.errors.Error as exc:
            logger.debug("consumer %s: unsubscribe failed: %r", self._durable, exc)
