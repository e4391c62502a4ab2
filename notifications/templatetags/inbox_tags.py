"""The unread count of the in-app inbox, for the badge in the page header (one COUNT on the notification_inbox
index, for signed-in people only)."""

from django import template

from notifications.services.inbox import inbox_unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_unread(context) -> int:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return 0
    return inbox_unread_count(user)
