"""A request body sent chunked (no Content-Length) is refused with 411 naming the problem, and the
connection it came on is closed rather than left holding the unread chunks. Before, Django's server
read the leftover `0\\r\\n` terminator as the next request on the keep-alive connection and answered
it with a bare HTTP/0.9 error page, which the client took as the reply to its next request (the
schema fuzzer's "Connection aborted. <!DOCTYPE HTML>")."""

import http.client
import json
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient
from restorebench.accounts.services import token_get_or_create


def test_a_chunked_body_gets_411_naming_the_missing_content_length(db, make_arena, make_participant):
    arena = make_arena(images=1)
    participant, _ = make_participant(arena)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_get_or_create(user=participant).key}")
    response = client.post(
        f"/api/phases/{arena.phase.pk}/submissions/create/",
        data=b"",
        content_type="application/octet-stream",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411
    detail = json.loads(b"".join(response.streaming_content))["detail"]
    assert "Content-Length" in detail and "chunked" in detail


@pytest.mark.services
def test_after_a_chunked_request_the_next_request_gets_its_own_reply(
    live_server, make_arena, make_participant
):
    arena = make_arena(images=1)
    participant, _ = make_participant(arena)
    token = token_get_or_create(user=participant).key
    where = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=20)
    connection.request(
        "PUT",
        "/api/uploads/00000000-0000-0000-0000-000000000000/chunk/",
        body=iter([]),  # an empty body, sent as the lone terminating chunk "0\r\n\r\n"
        headers={"Authorization": f"Token {token}", "Content-Type": "application/octet-stream"},
        encode_chunked=True,
    )
    first = connection.getresponse()
    assert first.status == 411
    assert "Content-Length" in json.loads(first.read())["detail"]
    assert first.getheader("Connection") == "close"  # the leftover chunks go with the connection

    connection.request("GET", "/api/challenges/")  # http.client reconnects, as every client does
    second = connection.getresponse()
    assert second.status == 200
    assert isinstance(json.loads(second.read()), (list, dict))
    connection.close()
