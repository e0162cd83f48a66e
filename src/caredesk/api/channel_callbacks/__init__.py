"""The callbacks outside systems post to (WeChat and WeCom, inbound e-mail, SMS gateways), at /channels/...:
thin entry points like the JSON API's routes, outside /api/v1 because the providers fix their shape."""
