"""Many requests at once, each on its own fresh connection: what a load test does to a local server."""

from __future__ import annotations

import http.client
import threading
from urllib.parse import urlsplit

CONCURRENT = 64
TIMEOUT_SECONDS = 10


def burst(base_url: str, method: str, path: str, count: int = CONCURRENT) -> list[int | str]:
    """The status of each of `count` requests sent at the same moment, or the error a client met instead."""
    address = urlsplit(base_url)
    start = threading.Barrier(count)
    outcomes: list[int | str] = ["not sent"] * count

    def one(index: int) -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=TIMEOUT_SECONDS)
        try:
            start.wait()
            connection.request(method, path)
            response = connection.getresponse()
            response.read()
            outcomes[index] = response.status
        except (OSError, http.client.HTTPException) as exc:
            outcomes[index] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
