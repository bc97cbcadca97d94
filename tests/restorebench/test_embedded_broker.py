"""The embedded broker delivers every message whole, and never hands out a message still being written."""

import threading
from pathlib import Path

import pytest
from kombu import Connection
from restorebench.embedded_broker import Transport


def _isolated_transport() -> type[Transport]:
    """kombu keeps the filesystem transport's exchange bindings in class-level state shared by every
    connection of the class (one broker folder per process in real use); each test gets its own."""
    from kombu.transport import virtual

    return type("IsolatedTransport", (Transport,), {"global_state": virtual.BrokerState()})


_TRANSPORTS: dict[Path, type[Transport]] = {}


def _connection(folder: Path) -> Connection:
    for sub in ("out", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    options = {
        "data_folder_in": str(folder / "out"),
        "data_folder_out": str(folder / "out"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "store_processed": False,
    }
    if folder not in _TRANSPORTS:
        _TRANSPORTS[folder] = _isolated_transport()
    transport = _TRANSPORTS[folder]
    return Connection("filesystem://", transport=transport, transport_options=options)


def test_messages_round_trip_whole(tmp_path):
    with _connection(tmp_path) as conn:
        queue = conn.SimpleQueue("cpu")
        for i in range(20):
            queue.put({"job": i, "payload": "x" * 1000})
        got = []
        for _ in range(20):
            message = queue.get(timeout=5)
            got.append(message.payload)
            message.ack()
        queue.close()
    # Files are ordered by a millisecond stamp, then a random id: FIFO across milliseconds only.
    assert sorted(m["job"] for m in got) == list(range(20))
    assert all(m["payload"] == "x" * 1000 for m in got)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_message_file_still_being_written_is_not_taken(tmp_path):
    with _connection(tmp_path) as conn:
        partial = tmp_path / "out" / ".123_abc.cpu.msg.partial"
        partial.write_bytes(b'{"body": "trunc')
        queue = conn.SimpleQueue("cpu")
        with pytest.raises(queue.Empty):
            queue.get(block=False)
        queue.close()
    assert partial.exists()


def test_no_message_is_lost_while_a_consumer_polls_during_writes(tmp_path):
    sent = 300
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            with _connection(tmp_path) as conn:
                producer = conn.SimpleQueue("cpu")
                for i in range(sent):
                    producer.put({"job": i})
                producer.close()
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    received = []
    with _connection(tmp_path) as conn:
        consumer = conn.SimpleQueue("cpu")
        thread = threading.Thread(target=produce)
        thread.start()
        while len(received) < sent:
            try:
                message = consumer.get(timeout=10)
            except consumer.Empty:
                break
            received.append(message.payload["job"])
            message.ack()
        thread.join()
        consumer.close()
    assert errors == []
    assert sorted(received) == list(range(sent))
