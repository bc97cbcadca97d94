"""One computation per cache key at a time (`cache_get_or_compute`): concurrent misses wait for the
first caller's value; a failed or hung computer never leaves the others without an answer."""

import threading

import pytest
from django.core.cache import cache
from restorebench.leaderboards import single_flight
from restorebench.leaderboards.single_flight import cache_get_or_compute


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def polls(monkeypatch):
    """Counts the waiters' polls (the sleeps between them), so a test can tell that the waiters are
    waiting before it lets the computer finish."""
    seen = threading.Condition()
    count = {"n": 0}
    sleep = single_flight.time.sleep

    def counted(seconds: float) -> None:
        with seen:
            count["n"] += 1
            seen.notify_all()
        sleep(seconds)

    monkeypatch.setattr(single_flight.time, "sleep", counted)

    def wait_for(n: int) -> None:
        with seen:
            assert seen.wait_for(lambda: count["n"] >= n, timeout=30)

    return wait_for


def test_concurrent_misses_compute_once_and_all_get_its_value(polls):
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def compute() -> dict:
        calls.append(1)
        entered.set()
        assert release.wait(timeout=30)
        return {"rows": [3, 1, 2]}

    results: list = []
    lock = threading.Lock()

    def read() -> None:
        value = cache_get_or_compute("board:v1", compute, 60)
        with lock:
            results.append(value)

    first = threading.Thread(target=read)
    first.start()
    assert entered.wait(timeout=30)
    others = [threading.Thread(target=read) for _ in range(7)]
    for thread in others:
        thread.start()
    polls(7)  # every other reader missed and is waiting on the first one's computation
    release.set()
    for thread in [first, *others]:
        thread.join(timeout=30)
    assert len(calls) == 1
    assert results == [{"rows": [3, 1, 2]}] * 8
    assert cache.get("board:v1") == {"rows": [3, 1, 2]}
    assert cache.get("board:v1:computing") is None  # the claim is given back


def test_a_cached_value_is_returned_without_computing():
    cache.set("board:v2", [1], 60)
    assert cache_get_or_compute("board:v2", lambda: pytest.fail("computed"), 60) == [1]


def test_a_failed_computation_lets_a_waiter_compute_it_itself(polls):
    entered, release = threading.Event(), threading.Event()

    def failing() -> list:
        entered.set()
        assert release.wait(timeout=30)
        raise RuntimeError("database went away")

    errors: list[BaseException] = []

    def read_failing() -> None:
        try:
            cache_get_or_compute("board:v3", failing, 60)
        except RuntimeError as error:
            errors.append(error)

    first = threading.Thread(target=read_failing)
    first.start()
    assert entered.wait(timeout=30)
    got: list = []
    waiter = threading.Thread(target=lambda: got.append(cache_get_or_compute("board:v3", lambda: [7], 60)))
    waiter.start()
    polls(1)
    release.set()
    first.join(timeout=30)
    waiter.join(timeout=30)
    assert [str(e) for e in errors] == ["database went away"]
    assert got == [[7]]
    assert cache.get("board:v3") == [7]


def test_a_claim_never_released_delays_a_reader_only_up_to_the_wait():
    cache.add("board:v4:computing", 1, timeout=60)  # a computer that died holding the claim
    assert cache_get_or_compute("board:v4", lambda: [9], 60, wait_s=0.05) == [9]
    assert cache.get("board:v4") == [9]
