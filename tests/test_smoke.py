from tests.support.members import confirmed_member


async def test_a_confirmed_member_sees_themselves_as_viewer(gql, mailbox) -> None:
    await confirmed_member(gql, mailbox, "ada_l")

    response = await gql("{ viewer { username role } }", as_member="ada_l")

    assert response == {"data": {"viewer": {"username": "ada_l", "role": "MEMBER"}}}
