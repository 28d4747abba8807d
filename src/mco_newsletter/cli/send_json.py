"""`send --json`: the plan and the outcome of a send as plain data, for a script or a scheduler to read."""

from __future__ import annotations


def plan_json(plan, *, backend: str, again: bool) -> dict:
    """What the send would do (or did plan): readers per edition, rows still open, readers left out."""
    return {
        "issue": plan.issue_id,
        "segment": plan.segment,
        "backend": backend,
        "again": again,
        "campaign": None if plan.campaign is None else {"started_at": plan.campaign.started_at},
        "readers": plan.total,
        "editions": {
            language: {"readers": count, "fallbacks": plan.fallbacks.get(language, 0)}
            for language, count in sorted(plan.counts.items())
        },
        "still_open": {language: dict(sorted(states.items())) for language, states in sorted(plan.open_rows.items())},
        "already_sent": plan.already_sent,
        "first_readers": [{"email": email, "language": language} for email, language in plan.first],
    }


def outcome_json(outcome, counts: dict[str, dict[str, int]]) -> dict:
    """What this run did, and where the whole campaign stands per edition and state."""
    totals: dict[str, int] = {}
    for states in counts.values():
        for state, n in states.items():
            totals[state] = totals.get(state, 0) + n
    return {
        "sent": outcome.sent,
        "failed": outcome.failed,
        "skipped": outcome.skipped,
        "refused": outcome.refused,
        "retries": outcome.retries,
        "may_have_it_twice": outcome.resent_after_crash + outcome.resent_unanswered,
        "resent_after_crash": outcome.resent_after_crash,
        "resent_unanswered": outcome.resent_unanswered,
        "stopped_by": outcome.stopped_by,
        "interrupted": outcome.interrupted,
        "error": None if outcome.error is None else outcome.error.message,
        "campaign": dict(sorted(totals.items())),
        "editions": {language: dict(sorted(states.items())) for language, states in sorted(counts.items())},
        "complete": not any(totals.get(state) for state in ("pending", "sending", "failed")),
    }
