"""Sign-ups as they arrived, before anything about their address is looked at.

The sign-up form's answer must not depend on whether the address is on the list, not even in the time it
takes. So the answer waits for one write only, the same for every address: the form's values go into
`signup_queue`. Whatever depends on the address (a pending subscriber, a request, which email, or none)
is worked out from that row after the answer is sent (signups.request_signup), and the row is deleted in
the same transaction. A row left by a server that stopped in between is worked through when it starts again.
The row holds the keyed hash of the address, so that an erasure finds it (Store.erase).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from .signups import Mail, SignupForm, request_signup, stamp
from .store import Store


def queue_signup(store: Store, form: SignupForm, *, address_hash: str, at: dt.datetime) -> int:
    """Keep the sign-up as it arrived; its row id."""
    return store.queue.add(
        email=form.email,
        language=form.language,
        name=form.name,
        topics=json.dumps(list(form.topics)),
        address_hash=address_hash,
        received_at=stamp(at),
    )


def queued(store: Store) -> list[int]:
    """The ids of the sign-ups still waiting to be worked through, oldest first."""
    return store.queue.ids()


def work_through(store: Store, queue_id: int, **options: Any) -> Mail | None:
    """Record the queued sign-up as signups.request_signup does (options: keys, confirm_days, may_mail) and
    delete its row; the email it is due. None when it is no longer queued (worked through, or erased)."""
    row = store.queue.take(queue_id)
    if row is None:
        return None
    form = SignupForm(row[0], row[1], row[2], tuple(json.loads(row[3])))
    return request_signup(store, form, at=dt.datetime.fromisoformat(row[4]), **options)
