"""The real-uvicorn fixture the transport rows use."""

from tests.support.harness import Live


async def test_the_live_server_answers_over_loopback(live: Live) -> None:
    response = await live.http.post("{ __typename }")
    assert response.json() == {"data": {"__typename": "Query"}}
