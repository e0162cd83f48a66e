"""Customer channels: where messages come from and replies go to (live web chat, WeChat and WeCom, e-mail,
SMS, calls). Each channel package takes its protocol's messages in, turns them into intake's
`IncomingMessage` with the customer's contact (contacts.py), and registers a sender that delivers replies and
notices back (outbound.py, delivery.py). They are wired by the composition root
(bootstrap/channels.py); their HTTP callbacks are entry points in api/channel_callbacks/."""
