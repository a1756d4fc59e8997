"""The web application (``synpunkt web``): the registrator's, chefs' and
admins' pages, the SMS gateways' webhooks, health and metrics."""
