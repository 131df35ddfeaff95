"""GraphiQL opens on a useful example: a thread page of the demo data."""

from demo import seed
from services.markdown import Renderer
from web.graphql import DEFAULT_QUERY


async def test_graphiql_opens_on_the_thread_page_example(gql) -> None:
    response = await gql.request("GET", "/graphql", headers={"accept": "text/html"})

    assert response.status_code == 200
    assert "query ThreadPage($after: String)" in response.text


async def test_the_example_query_answers_against_the_demo_data(gql, settings) -> None:
    await seed(Renderer(settings.public_url, settings.key))

    response = await gql(DEFAULT_QUERY)

    thread = response["data"]["thread"]
    assert thread["title"] == "Hello from Leeds!"
    assert thread["forum"] == {"slug": "introductions", "title": "Introductions"}
    assert [edge["node"]["author"]["username"] for edge in thread["messages"]["edges"]] == [
        "alice",
        "bob",
        "carol",
    ]
