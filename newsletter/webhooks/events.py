"""The one table from each provider's event names to what happens to the address.

Providers name their events differently; each provider module turns a request into
:class:`~newsletter.webhooks.base.Observed` events whose ``key`` is looked up here. An
event not in the table changes nothing (deliveries, opens, soft bounces...).
"""

from __future__ import annotations

from ..store.states import EventType as EventType

B, C, U = EventType.BOUNCED, EventType.COMPLAINED, EventType.UNSUBSCRIBED

EVENT_TYPES: dict[str, dict[str, EventType]] = {
    # RecordType[:Type or SuppressionReason]
    "postmark": {
        "Bounce:HardBounce": B,
        "Bounce:BadEmailAddress": B,
        "Bounce:ManuallyDeactivated": B,
        "SpamComplaint": C,
        "SubscriptionChange:HardBounce": B,
        "SubscriptionChange:SpamComplaint": C,
        "SubscriptionChange:ManualSuppression": U,
    },
    # event[:type or reason]
    "sendgrid": {
        "bounce:bounce": B,
        "spamreport": C,
        "unsubscribe": U,
        "group_unsubscribe": U,
        "dropped:Bounced Address": B,
        "dropped:Invalid": B,
        "dropped:Spam Reporting Address": C,
        "dropped:Unsubscribed Address": U,
    },
    # event[:severity]
    "mailgun": {
        "failed:permanent": B,
        "complained": C,
        "unsubscribed": U,
    },
    # type (Resend sends email.bounced only for permanent bounces)
    "resend": {
        "email.bounced": B,
        "email.complained": C,
    },
    # notificationType or eventType[:bounceType]
    "ses": {
        "Bounce:Permanent": B,
        "Complaint": C,
    },
    # read from the sender's mailbox (newsletter.bounces): DSNs and ARF reports
    "imap": {
        "bounce:permanent": B,
        "complaint": C,
    },
}


def event_type(provider: str, key: str) -> EventType | None:
    return EVENT_TYPES[provider].get(key)
