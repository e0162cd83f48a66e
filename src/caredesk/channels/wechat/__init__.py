"""WeChat Official Account and WeCom customer service: the callback protocol and the customer-service message API."""
