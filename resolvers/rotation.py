"""Finishing a key rotation (`rotate-keys --finish`): what is stored under an old key
moves to the current one, so the old key can leave the settings.

- IP_KEY: every stored address is re-encrypted and its keyed hash re-computed from it;
  a hash stored without its address (purge-ip dropped the address first) cannot be
  re-computed and is cleared, as it would match nothing once the old key is gone.
- SECRET_KEY: every /out link in stored message HTML is signed anew.

Rows go in id order, BATCH to a transaction. Each row is checked before it is
written, so a finish killed half way and run again does each row once: AES-GCM tells
whether the current key sealed an address, and a link that verifies under the current
key keeps its signature. A row is written only if it still holds what was read (a write
that changed it meanwhile, such as an account's erasure, wins)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.messages import Message
from resolvers.addresses import HOLDERS
from resolvers.keys import keep_current_keys
from services.addresses import AddressVault
from services.markdown import Renderer
from services.settings import Settings

BATCH = 500
OUT_LINK = 'href="/out?'
Progress = Callable[[str, int], None]


@dataclass
class Finished:
    """What a finish changed, by kind (a run after a crash counts only its own work)."""

    addresses: int = 0  # re-encrypted, with their hashes
    hashes: int = 0  # re-computed beside an address already under the current key
    cleared_hashes: int = 0  # stored without their address: cleared
    unreadable: int = 0  # under no listed key: left as they are
    messages: int = 0  # message bodies whose /out links were signed anew
    current: dict[str, str] = field(default_factory=dict)  # the fingerprints kept, by setting


def _with_address() -> Q:
    return Q(ip_cipher__isnull=False) | Q(ip_hash__isnull=False)


class NothingToFinish(Exception):
    """Each key setting holds one key: no rotation runs."""


@dataclass(frozen=True)
class Rotation:
    """What a finish moves: addresses (with a vault, when IP_KEY lists old keys) and
    /out links (with a renderer, when SECRET_KEY does)."""

    vault: AddressVault | None
    renderer: Renderer | None

    @classmethod
    def of(cls, settings: Settings) -> Rotation:
        """The rotation the settings' key lists describe; NothingToFinish without one."""
        older_ip, older_secret = settings.ip_keys[1:], settings.secret_keys[1:]
        if not (older_ip or older_secret):
            raise NothingToFinish("no rotation to finish: SECRET_KEY and IP_KEY each hold one key")
        return cls(
            AddressVault(settings.address_key, older_ip) if older_ip else None,
            Renderer(settings.public_url, settings.key, older_secret) if older_secret else None,
        )

    async def due(self) -> int:
        """How many rows the finish reads (for its progress bar)."""
        return await due(self.vault is not None, self.renderer is not None)

    async def finish(self, settings: Settings, batch: int, progress: Progress) -> Finished:
        """Move everything stored onto the current keys, then record them alone (only
        then: a finish cut short leaves the old keys valid for the next run)."""
        done = await finish(self.vault, self.renderer, batch, progress)
        done.current = await keep_current_keys(settings.shared_keys)
        return done


async def due(rotating_addresses: bool, rotating_links: bool) -> int:
    """How many rows a finish reads (for its progress bar)."""
    total = 0
    if rotating_addresses:
        for holder in HOLDERS:
            total += await holder.model.filter(_with_address()).count()
    if rotating_links:
        total += await Message.filter(body_html__contains=OUT_LINK).count()
    return total


async def finish(
    vault: AddressVault | None, renderer: Renderer | None, batch: int, progress: Progress
) -> Finished:
    """Move stored addresses (with a vault: IP_KEY rotates) and /out links (with a
    renderer: SECRET_KEY rotates) onto the current keys."""
    done = Finished()
    if vault is not None:
        for holder in HOLDERS:
            await _addresses(holder.model, vault, batch, progress, done)
    if renderer is not None:
        await _links(renderer, batch, progress, done)
    return done


async def _addresses(
    model: type[Model], vault: AddressVault, batch: int, progress: Progress, done: Finished
) -> None:
    table = model._meta.db_table
    last = None
    while True:
        query = model.filter(_with_address())
        if last is not None:
            query = query.filter(id__gt=last)
        rows = await query.order_by("id").limit(batch).values_list("id", "ip_cipher", "ip_hash")
        if not rows:
            return
        async with in_transaction():
            for pk, cipher, digest in rows:
                await _address(model, vault, pk, cipher, digest, done)
        last = rows[-1][0]
        progress(table, len(rows))


async def _address(
    model: type[Model],
    vault: AddressVault,
    pk: object,
    cipher: str | None,
    digest: str | None,
    done: Finished,
) -> None:
    if cipher is None:
        await model.filter(id=pk, ip_cipher__isnull=True, ip_hash=digest).update(ip_hash=None)
        done.cleared_hashes += 1
        return
    try:
        address, current = vault.unseal(cipher)
    except (InvalidTag, ValueError):
        done.unreadable += 1
        return
    fresh = vault.fingerprint(address) if digest is not None else None
    if current and digest == fresh:
        return  # moved already (by an earlier run, or written after the rotation began)
    changes = {"ip_hash": fresh}
    if not current:
        changes["ip_cipher"] = vault.seal(address)
    changed = await model.filter(id=pk, ip_cipher=cipher).update(**changes)
    if changed and current:
        done.hashes += 1
    elif changed:
        done.addresses += 1


async def _links(renderer: Renderer, batch: int, progress: Progress, done: Finished) -> None:
    last = 0
    while True:
        rows = (
            await Message.filter(body_html__contains=OUT_LINK, id__gt=last)
            .order_by("id")
            .limit(batch)
            .values_list("id", "body_html")
        )
        if not rows:
            return
        async with in_transaction():
            for pk, body_html in rows:
                signed = renderer.resign(body_html)
                if signed == body_html:
                    continue
                # An edit meanwhile rendered the body anew, with the current key: it wins.
                if await Message.filter(id=pk, body_html=body_html).update(body_html=signed):
                    done.messages += 1
        last = rows[-1][0]
        progress(Message._meta.db_table, len(rows))
