import smtplib

from django.conf import settings
from django.core.mail import EmailMessage

from notifications.channels.base import DeliveryChannel, address_for
from notifications.errors import DeliveryError


def message_domain() -> str:
    return settings.DEFAULT_FROM_EMAIL.rpartition("@")[2] or "tracker.invalid"


class EmailChannel(DeliveryChannel):
    kind = "email"

    def send(self, notification) -> None:
        address = address_for(notification, "email")
        if not address:
            raise DeliveryError("The recipient has no email address.", permanent=True)
        message = EmailMessage(
            subject=self.render(notification, "subject"), body=self.render(notification, "body"),
            from_email=settings.DEFAULT_FROM_EMAIL, to=[address],
            # The same Message-ID on every retry, so mail systems can drop a second copy.
            headers={"Message-ID": f"<{notification.uuid}@{message_domain()}>",
                     "X-Tracker-Notification": str(notification.uuid)},
        )
        try:
            message.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _message in exc.recipients.values()})
            # The address itself stays out of the error (it may contain the person's name).
            raise DeliveryError(f"The mail server refused the recipient's address (SMTP {codes}).",
                                permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(f"SMTP error {exc.smtp_code}.", permanent=False) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP connection problem: {type(exc).__name__}.", permanent=False) from exc
