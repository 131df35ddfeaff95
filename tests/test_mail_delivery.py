"""Mail over a real SMTP server, and the outbox that keeps mail while that server is down."""

import asyncio
import re
from datetime import UTC, datetime

import pytest

from models.mail import OutboxMail
from services.mail import MailSender, Transport
from tests.support.harness import Server, free_port
from tests.support.harness import test_settings as settings_for
from tests.support.mail import SmtpServer, token_in
from tests.support.members import register

OK = {"data": {"register": {"userErrors": []}}}
CONFIRM = "mutation($t: String!) { confirmEmail(input: {token: $t}) { user { username } } }"
LINK = re.compile(r"http://localhost:8000/confirm-email\?token=[A-Za-z0-9_\-]{43,}")


@pytest.fixture
def port():
    return free_port()


@pytest.fixture
def settings(tmp_path, database_url, port):
    return settings_for(tmp_path, database_url, mail_url=f"smtp://127.0.0.1:{port}")


@pytest.fixture
async def smtp(port):
    async with SmtpServer(port) as server:
        yield server


@pytest.fixture
async def forum(settings):
    async with Server(settings) as client:
        yield client


async def outbox() -> OutboxMail:
    (mail,) = await OutboxMail.all()
    return mail


async def until(condition) -> None:
    """Wait for an outbox condition, making retries due at once instead of after backoff."""
    for _ in range(200):  # about 10 s
        if await condition():
            return
        await OutboxMail.filter(sent_at__isnull=True).update(next_attempt_at=datetime.now(UTC))
        MailSender.poke()
        await asyncio.sleep(0.05)
    raise AssertionError("the outbox never got there")


async def test_the_confirmation_mail_arrives_over_smtp(smtp, forum):
    assert await register(forum, "ada_l") == OK

    (envelope,) = await smtp.wait_for(1)

    assert (envelope.mail_from, envelope.rcpt_tos) == ("no-reply@localhost", ["ada_l@example.org"])
    (message,) = smtp.messages()
    assert (message["To"], message["Subject"]) == (
        "ada_l@example.org",
        "Confirm your email address",
    )
    assert LINK.findall(message.get_content()) == [
        f"http://localhost:8000/confirm-email?token={token_in(message)}"
    ]


async def test_the_link_mailed_over_smtp_confirms_the_address(smtp, forum):
    await register(forum, "ada_l")
    await smtp.wait_for(1)
    (message,) = smtp.messages()

    response = await forum(CONFIRM, {"t": token_in(message)})

    assert response == {"data": {"confirmEmail": {"user": {"username": "ada_l"}}}}


async def test_a_delivered_mail_keeps_no_body_in_the_outbox(smtp, forum):
    await register(forum, "ada_l")
    await smtp.wait_for(1)

    await until(lambda: OutboxMail.filter(sent_at__isnull=False).exists())

    mail = await outbox()
    assert (mail.to_address, mail.body, mail.attempts) == ("ada_l@example.org", "", 1)


async def test_registering_while_the_mail_server_is_down_answers_as_usual(forum):
    response = await register(forum, "ada_l")

    assert response == OK
    mail = await outbox()
    assert (mail.to_address, mail.sent_at) == ("ada_l@example.org", None)
    assert LINK.search(mail.body)


async def test_mail_the_server_cannot_take_stays_in_the_outbox_and_is_retried(forum):
    await register(forum, "ada_l")

    await until(lambda: OutboxMail.filter(attempts__gte=3).exists())

    mail = await outbox()
    assert (mail.sent_at, mail.to_address) == (None, "ada_l@example.org")
    assert mail.last_error
    assert LINK.search(mail.body)  # kept until it is delivered


async def test_mail_kept_while_the_server_was_down_is_delivered_once_it_is_up(
    forum, port, settings
):
    await register(forum, "ada_l")
    await until(lambda: OutboxMail.filter(attempts__gte=2).exists())

    async with SmtpServer(port) as smtp:
        await until(lambda: OutboxMail.filter(sent_at__isnull=False).exists())
        # A second sender finds nothing left to send: the delivered row is done for good.
        another_round = await MailSender(
            Transport(settings.mail_target), "x@localhost"
        ).deliver_due()
        envelopes = smtp.envelopes

    assert another_round == 0
    assert [envelope.rcpt_tos for envelope in envelopes] == [["ada_l@example.org"]]
    mail = await outbox()
    assert mail.body == ""


async def test_every_mail_queued_while_down_arrives_exactly_once(forum, port):
    for username in ("ada_l", "grace_h", "alan_t"):
        assert await register(forum, username) == OK
    await until(_all_tried)

    async with SmtpServer(port) as smtp:
        await until(_none_waiting)
        await smtp.wait_for(3)
        received = sorted(to for envelope in smtp.envelopes for to in envelope.rcpt_tos)

    assert received == ["ada_l@example.org", "alan_t@example.org", "grace_h@example.org"]


async def _all_tried() -> bool:
    return not await OutboxMail.filter(attempts=0).exists()


async def _none_waiting() -> bool:
    return not await OutboxMail.filter(sent_at__isnull=True).exists()


OUTAGE_SECONDS = 20.0  # five retry cycles at the 4 s cap: long enough to retry each mail
ARRIVALS = ("ada_l", "grace_h", "alan_t", "kathy_j", "barbara_l")  # spread over the outage


@pytest.mark.slow
async def test_an_outage_of_the_mail_server_loses_no_mail_and_sends_none_twice(
    tmp_path, database_url, port
):
    # Retries back off as in production but wait at most 4 s, so the test ends soon
    # after the server returns; the outage itself is real (20 s, several retries each).
    settings = settings_for(
        tmp_path, database_url, mail_url=f"smtp://127.0.0.1:{port}", mail_retry_max_seconds=4
    )
    async with Server(settings) as client:
        gap = OUTAGE_SECONDS / len(ARRIVALS)
        for username in ARRIVALS:
            assert await register(client, username) == OK
            await asyncio.sleep(gap)
        assert await OutboxMail.filter(sent_at__isnull=False).count() == 0
        tried = await OutboxMail.filter(attempts__gte=1).count()

        async with SmtpServer(port) as smtp:
            await smtp.wait_for(len(ARRIVALS), within=30)
            for _ in range(100):
                if await _none_waiting():
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(3)  # a duplicate would arrive within a retry or two
            received = sorted(to for envelope in smtp.envelopes for to in envelope.rcpt_tos)
        all_sent = await _none_waiting()

    assert tried == len(ARRIVALS)
    assert received == sorted(f"{name}@example.org" for name in ARRIVALS)
    assert all_sent
