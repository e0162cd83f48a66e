"""Which receiver URLs a subscription may name: http or https, a host, no credentials in the URL (they would be
shown in every listing), and, only when the operator asks for it, no private or loopback address (internal
receivers are normal on-premises, so that is off by default)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from caredesk.errors import InvalidInput

__all__ = ["InvalidWebhookUrl", "check_url"]


class InvalidWebhookUrl(InvalidInput):
    code = "invalid_webhook_url"


def _private(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast \
        or ip.is_unspecified


def check_url(url: str, *, refuse_private: bool) -> str:
    """The URL as stored, or InvalidWebhookUrl with the reason. With `refuse_private` a host name is resolved
    here, and every address it has must be public."""
    text = url.strip()
    if len(text) > 2000 or any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidWebhookUrl("the URL is longer than 2000 characters or contains spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise InvalidWebhookUrl("the URL cannot be parsed") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidWebhookUrl("the URL must start with http:// or https://", scheme=parts.scheme)
    if not parts.hostname:
        raise InvalidWebhookUrl("the URL has no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("put no credentials in the URL: the signature authenticates CareDesk")
    if refuse_private:
        try:
            infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80),
                                       proto=socket.IPPROTO_TCP)
        except OSError:
            raise InvalidWebhookUrl("the URL's host name does not resolve", host=parts.hostname) from None
        if any(_private(str(info[4][0])) for info in infos):
            raise InvalidWebhookUrl("the URL's host is a private or loopback address, which this site refuses "
                                    "(CAREDESK_WEBHOOKS_REFUSE_PRIVATE_ADDRESSES)", host=parts.hostname)
    return text
